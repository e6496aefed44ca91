"""Shared test plumbing: asyncio backend only, and every async test fails if it leaks a task.

A leaked task is how an async tool hangs at 3 a.m.; catching it in every test is cheaper than debugging it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from tests.labkit import LabHandle, start_lab

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """A running lab for the scenario given by ``parametrize("lab", [...], indirect=True)`` (default healthy)."""
    scenario = getattr(request, "param", "healthy")
    yield from start_lab(scenario, tmp_path_factory.mktemp(f"lab-{scenario}"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def _no_leaked_tasks() -> AsyncIterator[None]:
    before = set(asyncio.all_tasks())
    yield
    me = asyncio.current_task()

    def pending() -> list[asyncio.Task[object]]:
        return [
            t
            for t in asyncio.all_tasks()
            if t not in before
            and t is not me
            and not t.done()
            and "TestRunner." not in getattr(t.get_coro(), "__qualname__", "")
        ]

    with anyio.move_on_after(1.0):  # tasks being cancelled get a moment to finish; stragglers are leaks
        while pending():  # noqa: ASYNC110 - there is no event for "another task finished"
            await anyio.sleep(0.01)
    leaked = pending()
    for task in leaked:
        task.cancel()
    if leaked:
        pytest.fail(f"test leaked {len(leaked)} task(s): {[t.get_coro() for t in leaked]}")


@pytest.fixture(autouse=True)
def _leak_guard(request: pytest.FixtureRequest) -> None:
    """Every async test gets the task-leak check (sync tests have no event loop to leak into)."""
    fn = getattr(request.node, "function", None)
    if fn is not None and inspect.iscoroutinefunction(fn):
        request.getfixturevalue("_no_leaked_tasks")
