"""One way to run several awaitables at once and keep their results: :func:`gather`.

Probes ask many questions at the same time (every endpoint, every table, every Kubernetes resource). Written by
hand each time, that is a task group, a results list and an index per call, and each copy is a place to get the
order or a cancellation wrong. ``gather`` is that pattern once: every call starts in one task group, the results
come back in the order the calls were given, and the first error cancels the rest and propagates (a probe turns
errors into findings before they reach here; the runner turns anything left into a ``probe.crashed`` finding).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import anyio

__all__ = ["gather"]

T = TypeVar("T")


async def gather(calls: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    """Await every call concurrently; their results in the order of ``calls``.

    Pass zero-argument callables (``functools.partial(fetch, url)`` or a lambda), not coroutines, so nothing is
    created that might never be awaited."""
    pending = list(calls)
    results: list[T | None] = [None] * len(pending)

    async def one(index: int, call: Callable[[], Awaitable[T]]) -> None:
        results[index] = await call()

    async with anyio.create_task_group() as tg:
        for index, call in enumerate(pending):
            tg.start_soon(one, index, call)
    return results  # type: ignore[return-value]  # every slot was filled: the task group waited for all
