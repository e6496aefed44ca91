"""Container logs for ``pods/{name}/log``: what the node's containers printed, served with the real query options.

Why here: agents read a container's output through this endpoint and its options (``container``, ``tailLines``,
``sinceSeconds``, ``timestamps``, ``previous``, ``limitBytes``, ``follow``), with the same errors as on a real
cluster. Two sources, as a real apiserver has one (the node): text a test writes into the store
(:meth:`PodLogs.write`), and the log files of the lab kubelet's containers. A real apiserver asks the node's
kubelet, which reads ``/var/log/pods/<ns>_<pod>_<uid>/<container>/``; the lab's node is this machine and keeps
the same layout under its state folder (``<state>/pod-logs/``, :func:`pod_log_dir`): ``current.log`` for the
running (or last) instance of a container, ``previous.log`` for the one before. The state folder is the one every
lab process is started with (``$FLOE_LAB_STATE``, set by ``floe_lab.procs``), or the one given. A file carries no
per-line times, so its lines are stamped with the file's modification time (``sinceSeconds`` and ``timestamps``
are approximate for node logs); ``follow`` re-reads a node log twice a second.
"""

from __future__ import annotations

import contextlib
import glob
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

__all__ = [
    "CURRENT_LOG",
    "NODE_LOGS",
    "PREVIOUS_LOG",
    "STATE_ENV",
    "LogLine",
    "LogQuery",
    "LogWake",
    "PodLogs",
    "pod_log_dir",
    "render",
]

STATE_ENV = "FLOE_LAB_STATE"
NODE_LOGS = "pod-logs"
CURRENT_LOG, PREVIOUS_LOG = "current.log", "previous.log"
_MAX_READ = 16 * 2**20  # a node log is read from its last 16 MiB
_FOLLOW_POLL = 0.5


def pod_log_dir(state_dir: Path, namespace: str, pod: str, uid: str) -> Path:
    """Where the node keeps a pod's logs: ``<state>/pod-logs/<ns>_<pod>_<uid>/``, one folder per container."""
    return state_dir / NODE_LOGS / f"{namespace}_{pod}_{uid}"


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


@dataclass(frozen=True)
class LogWake:
    """What a follower waits on: the next write to the pod's stored logs, or (node logs) half a second."""

    event: anyio.Event
    poll: float | None

    async def wait(self) -> None:
        with anyio.move_on_after(self.poll if self.poll is not None else float("inf")):
            await self.event.wait()


class PodLogs:
    """Log text per (namespace, pod, container, previous), with a wake-up for followers; see the module docstring.

    Args:
        node_state: the lab's state folder whose ``pod-logs`` the node writes (default: ``$FLOE_LAB_STATE``;
            neither: stored text only).
    """

    def __init__(self, node_state: Path | None = None) -> None:
        state = node_state if node_state is not None else os.environ.get(STATE_ENV)
        self._node = Path(state) / NODE_LOGS if state else None
        self._streams: dict[tuple[str, str, str, bool], _Stream] = {}
        self._changed: dict[tuple[str, str], anyio.Event] = {}

    def _pod_dir(self, namespace: str, pod: str) -> Path | None:
        """The node's folder of the newest pod of that name (a pod deleted a moment ago may still have one)."""
        if self._node is None:
            return None
        candidates = []
        for found in self._node.glob(f"{glob.escape(namespace)}_{glob.escape(pod)}_*"):
            with contextlib.suppress(OSError):
                candidates.append((found.stat().st_mtime, found))
        return max(candidates)[1] if candidates else None

    def _node_file(self, namespace: str, pod: str, container: str, previous: bool) -> Path | None:
        folder = self._pod_dir(namespace, pod)
        if folder is None:
            return None
        path = folder / container / (PREVIOUS_LOG if previous else CURRENT_LOG)
        return path if path.exists() else None

    @staticmethod
    def _read(path: Path) -> list[LogLine]:
        try:
            with path.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - _MAX_READ))
                data = fh.read()
            at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except OSError:
            return []
        return _split(data.decode(errors="replace"), at)

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
        """Whether there is a log to serve: written text, else a node log file."""
        if (namespace, pod, container, previous) in self._streams:
            return True
        return self._node_file(namespace, pod, container, previous) is not None

    def lines(self, namespace: str, pod: str, container: str, *, previous: bool) -> list[LogLine]:
        stream = self._streams.get((namespace, pod, container, previous))
        if stream is not None:
            return list(stream.lines)
        path = self._node_file(namespace, pod, container, previous)
        return self._read(path) if path is not None else []

    def forget(self, namespace: str, pod: str) -> None:
        """Drop a deleted pod's logs (and wake its followers so they end)."""
        for key in [k for k in self._streams if k[0] == namespace and k[1] == pod]:
            del self._streams[key]
        self.wake(namespace, pod)

    def changed(self, namespace: str, pod: str) -> LogWake:
        """Set at the next write to (or deletion of) this pod's stored logs; a node log is polled instead."""
        event = self._changed.setdefault((namespace, pod), anyio.Event())
        return LogWake(event, _FOLLOW_POLL if self._pod_dir(namespace, pod) is not None else None)

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
