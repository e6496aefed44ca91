"""How long floe-agents itself could not run: a timeout measured while we were starved is not evidence.

Why: on a busy 2-core CI runner (or while a probe does a moment of synchronous work — a client built, a module
imported) the event loop can stall for seconds. Every timer that expires meanwhile fires as soon as the loop
runs again, so a localhost port that accepted the connection in a millisecond reads as "did not accept a
connection within 2 s", and the diagnosis blames a healthy component. The meter ticks every ``TICK_S`` and adds
up how late each tick woke: that sum is the time the loop could not run. A probe whose answer is a timeout and
during which the loop stalled for ``STARVED_S`` or more is asked again once (:mod:`floe_agents.runner`); a
timeout on a loop that ran freely stands.
"""

from __future__ import annotations

import time

import anyio

from floe_agents.findings import Finding, Status

__all__ = ["STARVED_S", "StallMeter", "timed_out"]

TICK_S = 0.05
STARVED_S = 0.5


class StallMeter:
    """The seconds the event loop could not run since the meter started (0 until :meth:`run` runs)."""

    def __init__(self, tick_s: float = TICK_S) -> None:
        self._tick_s = tick_s
        self._stalled = 0.0

    def stalled(self) -> float:
        """Seconds stalled so far; take two readings and subtract for a stretch of time."""
        return self._stalled

    async def run(self) -> None:
        """Tick until cancelled."""
        while True:
            t0 = time.monotonic()
            await anyio.sleep(self._tick_s)
            self._stalled += max(0.0, time.monotonic() - t0 - self._tick_s)


def timed_out(findings: list[Finding]) -> bool:
    """Whether the answer rests on a timeout: a problem whose code, or evidence ``reason`` or ``error``, says so
    (the Kubernetes API's "no answer within 3s" carries it as its error)."""
    problems = (f for f in findings if f.status is not Status.OK)
    return any("timeout" in str(f.code) or "timeout" in (f.evidence.get("reason"), f.evidence.get("error"))
               for f in problems)  # fmt: skip
