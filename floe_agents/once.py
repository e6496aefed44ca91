"""Once per run: the first asker does the work, the others share its answer.

Several probes need the same thing from the same server within one run: the catalog's OAuth token (the polaris,
iceberg, cube, endpoints probes and the STS follow-up all log in), a host's DNS answer. Asking once per run
spares the platform the repeated requests and pays for a slow answer once. Single-flight: concurrent askers wait
for the first; if the first is cancelled or raises, nothing is kept and the next asker does the work itself.
One instance lives in each run's :class:`~floe_agents.context.Services`, so nothing carries over between runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

import anyio

__all__ = ["OncePerRun"]

T = TypeVar("T")


class OncePerRun:
    """Results of ``make()`` by key, each computed once; a key should name everything the result depends on."""

    def __init__(self) -> None:
        self._results: dict[Hashable, Any] = {}
        self._pending: dict[Hashable, anyio.Event] = {}

    async def get(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        while (pending := self._pending.get(key)) is not None:
            await pending.wait()
        if key not in self._results:
            self._pending[key] = done = anyio.Event()
            try:
                self._results[key] = await make()
            finally:
                del self._pending[key]
                done.set()
        return cast("T", self._results[key])
