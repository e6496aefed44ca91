"""Fixtures every test directory may ask for: asyncio only, a task-leak check on every async test, a running
lab per scenario, and the Polaris stand-in on moto (shared by tests/lab and tests/probes).

A leaked task is how an async tool hangs at 3 a.m.; catching it in every test is cheaper than debugging it.
Helpers are not here: they live in ``tests/support`` (one module per concern) and are imported where used.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

from tests.support.lab import LabHandle, start_lab

if TYPE_CHECKING:
    from floe_lab.polaris import RunningPolaris
    from tests.support.polaris import PolarisS3

pytest_plugins = ["pytester"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def pytest_configure(config: pytest.Config) -> None:
    """Every server the tests start is on loopback: a caller's HTTP(S)_PROXY must not carry those requests away
    (aiohttp, under kubernetes_asyncio, trusts the environment's proxies and, unlike Go's clients, does not exempt
    loopback). NO_PROXY gains the loopback names, for this process and every process it starts. And the labs'
    restart back-off is shortened (below)."""
    for name in ("NO_PROXY", "no_proxy"):
        have = [h.strip() for h in os.environ.get(name, "").split(",") if h.strip()]
        os.environ[name] = ",".join([*have, *(h for h in LOOPBACK if h not in have)])
    # The labs the tests start restart crashed containers after 1 s doubling to 30 s, not a kubelet's 10 s to 300 s:
    # heals wait through every back-off, and the suite starts a dozen labs (the kubelet tests pin the real one).
    os.environ.setdefault("FLOE_LAB_RESTART_BACKOFF", "1")


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """A running lab for the scenario given by ``parametrize("lab", [...], indirect=True)``: one per scenario for the
    session. Without that parametrization pytest would key a second lab of the same scenario (50 s more)."""
    scenario = getattr(request, "param", None)
    if scenario is None:
        pytest.fail('ask for the session lab with @pytest.mark.parametrize("lab", [scenario], indirect=True)')
    yield from start_lab(scenario, tmp_path_factory.mktemp(f"lab-{scenario}"))


def _lab_of(item: pytest.Item) -> object:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("lab") if callspec is not None and "lab" in getattr(item, "fixturenames", ()) else None


# ``FLOE_TEST_SCENARIOS`` (comma-separated) splits the session's scenario labs between pytest processes, so that
# scripts/test starts each lab once: ``a,b`` keeps only the tests of labs a and b (and nothing that needs no session
# lab); ``-a,-b`` leaves those labs' tests out and keeps everything else (so a new scenario is never in no share).
def _session_lab(item: pytest.Item) -> str | None:
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.get("lab") if info is not None else None
    if not defs or defs[-1].scope != "session":
        return None  # no lab, or a module's lab of its own (the remediation tests')
    return str(_lab_of(item))


def _in_share(item: pytest.Item, share: set[str]) -> bool:
    lab = _session_lab(item)
    keep = {s for s in share if not s.startswith("-")}
    if lab is None:
        return not keep
    return f"-{lab}" not in share and (not keep or lab in keep)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked ``changes_lab`` (heal) changes the shared scenario lab: it runs after every other test of that
    lab. pytest has already grouped the tests of one session-scoped lab together (one lab per group); within each
    group the changing tests move to the end, keeping the order otherwise. So no extra lab is started for them."""
    share = {s.strip() for s in os.environ.get("FLOE_TEST_SCENARIOS", "").split(",") if s.strip()}
    if share:
        config.hook.pytest_deselected(items=[i for i in items if not _in_share(i, share)])
        items[:] = [i for i in items if _in_share(i, share)]
    ordered: list[pytest.Item] = []
    block: list[pytest.Item] = []

    def flush() -> None:
        ordered.extend(i for i in block if i.get_closest_marker("changes_lab") is None)
        ordered.extend(i for i in block if i.get_closest_marker("changes_lab") is not None)
        block.clear()

    current: object = object()
    for item in items:
        lab = _lab_of(item)
        if lab != current:
            flush()
            current = lab
        block.append(item)
    flush()
    items[:] = ordered


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """asyncio only (aiohttp and grpc.aio run on nothing else); module scope lets module-scoped fixtures be async."""
    return "asyncio"


@pytest.fixture(scope="module")
def polaris_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PolarisS3]:
    """moto's S3/STS for the module, with Floe's buckets and the lab's service table naming it."""
    from tests.support.polaris import moto_s3  # noqa: PLC0415 - moto and the stand-in take seconds to import

    with moto_s3(tmp_path_factory.mktemp("services")) as s3:
        yield s3


@pytest.fixture
async def polaris(
    polaris_s3: PolarisS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningPolaris]:
    """The Polaris stand-in in-process on a fresh sqlite file; fails the test if it leaves tasks or threads."""
    from tests.support.polaris import polaris_on  # noqa: PLC0415 - moto and the stand-in take seconds to import

    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # clients must never ask a metadata service
    async with polaris_on(polaris_s3, tmp_path) as running:
        yield running


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
