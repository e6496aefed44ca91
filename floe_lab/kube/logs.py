"""Container logs for ``pods/{name}/log``: stored text the lab writes, served with the real query options.

Why here: there is no kubelet, so whoever plays it (the lab's reconciler, a test) writes what a container "printed"
and agents read it back through the same endpoint and options (``container``, ``tailLines``, ``sinceSeconds``,
``timestamps``, ``previous``, ``limitBytes``, ``follow``) and the same errors as on a real cluster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import anyio

__all__ = ["LogLine", "LogQuery", "PodLogs", "render"]


@dataclass(frozen=True)
class LogLine:
    at: datetime
    text: str  # one line, with its trailing newline when it had one


@dataclass(frozen=True)
class LogQuery:
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: datetime | None = None
    timestamps: bool = False
    limit_bytes: int | None = None


@dataclass
class _Stream:
    lines: list[LogLine] = field(default_factory=list)


def _split(text: str, at: datetime) -> list[LogLine]:
    return [LogLine(at, line) for line in text.splitlines(keepends=True)]


class PodLogs:
    """Log text per (namespace, pod, container, previous), with a wake-up for followers."""

    def __init__(self) -> None:
        self._streams: dict[tuple[str, str, str, bool], _Stream] = {}
        self._changed: dict[tuple[str, str], anyio.Event] = {}

    def write(self, namespace: str, pod: str, container: str, text: str, *, append: bool, previous: bool) -> None:
        key = (namespace, pod, container, previous)
        stream = self._streams.setdefault(key, _Stream())
        if not append:
            stream.lines = []
        if stream.lines and not stream.lines[-1].text.endswith("\n") and text:
            last = stream.lines.pop()
            text = last.text + text
        stream.lines.extend(_split(text, datetime.now(UTC)))
        self.wake(namespace, pod)

    def has(self, namespace: str, pod: str, container: str, *, previous: bool) -> bool:
        return (namespace, pod, container, previous) in self._streams

    def lines(self, namespace: str, pod: str, container: str, *, previous: bool) -> list[LogLine]:
        stream = self._streams.get((namespace, pod, container, previous))
        return list(stream.lines) if stream else []

    def forget(self, namespace: str, pod: str) -> None:
        """Drop a deleted pod's logs (and wake its followers so they end)."""
        for key in [k for k in self._streams if k[0] == namespace and k[1] == pod]:
            del self._streams[key]
        self.wake(namespace, pod)

    def changed(self, namespace: str, pod: str) -> anyio.Event:
        """An event set at the next write to (or deletion of) this pod's logs."""
        return self._changed.setdefault((namespace, pod), anyio.Event())

    def wake(self, namespace: str, pod: str) -> None:
        event = self._changed.pop((namespace, pod), None)
        if event is not None:
            event.set()

    def wake_all(self) -> None:
        for event in self._changed.values():
            event.set()
        self._changed.clear()


def render(lines: list[LogLine], query: LogQuery) -> str:
    """Apply sinceSeconds/sinceTime, tailLines, timestamps and limitBytes, in the kubelet's order."""
    selected = lines
    cutoff = query.since_time
    if query.since_seconds is not None:
        cutoff = datetime.now(UTC) - timedelta(seconds=query.since_seconds)
    if cutoff is not None:
        selected = [line for line in selected if line.at >= cutoff]
    if query.tail_lines is not None:
        selected = selected[-query.tail_lines :] if query.tail_lines > 0 else []
    if query.timestamps:
        text = "".join(f"{line.at.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {line.text}" for line in selected)
    else:
        text = "".join(line.text for line in selected)
    if query.limit_bytes is not None:
        text = text.encode()[: query.limit_bytes].decode(errors="ignore")
    return text
