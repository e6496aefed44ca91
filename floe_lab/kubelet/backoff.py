"""The kubelet's restart back-off of one container: 10 s doubling to 300 s, forgotten after 10 quiet minutes.

Why its own object, shaped like client-go's ``flowcontrol.Backoff``: what ``kubectl get pods`` shows while a
container crash-loops is decided by this arithmetic, and diagnoses read it (``back-off 40s restarting failed
container=...``). The kubelet restarts a container that exited *at once* the first time and remembers a delay of
``base``; every later exit that comes within twice the ceiling of the last restart waits out the remembered delay
(``CrashLoopBackOff``), then restarts and doubles it, up to ``ceiling``; an exit after a quiet period longer than
twice the ceiling (10 minutes by default: a container that ran that long) starts over at ``base``. No jitter:
the container back-off of a kubelet has none.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["BACKOFF_BASE", "BACKOFF_MAX", "Backoff"]

BACKOFF_BASE = 10.0  # the kubelet's backOffPeriod
BACKOFF_MAX = 300.0  # the kubelet's MaxContainerBackOff


class Backoff:
    """The back-off of one container (one per container of a pod, as the kubelet keys it)."""

    def __init__(self, base: float, ceiling: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._base, self._ceiling, self._clock = base, ceiling, clock
        self._delay: float | None = None
        self._updated = 0.0

    @property
    def delay(self) -> float:
        """The delay remembered now (``base`` before any restart)."""
        return self._base if self._delay is None else self._delay

    def _expired(self, exited_at: float) -> bool:
        return exited_at - self._updated > 2 * self._ceiling

    def in_backoff_since(self, exited_at: float) -> bool:
        """Whether a container that exited at ``exited_at`` (this clock) must still wait before its restart."""
        if self._delay is None or self._expired(exited_at):
            return False
        return self._clock() - exited_at < self._delay

    def remaining(self, exited_at: float) -> float:
        """Seconds left of the wait that began at ``exited_at``."""
        return max(0.0, exited_at + self.delay - self._clock())

    def next(self, exited_at: float) -> None:
        """A restart happens now: the first, or one after a long quiet run, remembers ``base``; others double."""
        if self._delay is None or self._expired(exited_at):
            self._delay = self._base
        else:
            self._delay = min(self._delay * 2, self._ceiling)
        self._updated = self._clock()
