"""Termination messages: the file a container may write as it dies, or the end of its log, into its status.

Why: ``kubectl describe pod`` and every diagnosis of a failed container read ``state.terminated.message`` (and
``lastState`` once it restarted). The kubelet bind-mounts a fresh file at the container's
``terminationMessagePath`` (default ``/dev/termination-log``) and reads at most its last 4096 bytes after the
exit; with ``terminationMessagePolicy: FallbackToLogsOnError`` and a non-zero exit, an empty or missing file is
replaced by the last 80 lines of the container's log, at most their last 2048 bytes. In the lab the "bind mount"
is a per-container file in the pod's folder, handed to the launcher as the mount of that path (mode 0666, as the
kubelet makes it, so a process running as another user can write it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_PATH", "message", "message_file", "tail_of_log"]

DEFAULT_PATH = "/dev/termination-log"
_MAX_FILE = 4096  # kubecontainer.MaxContainerTerminationMessageLength
_MAX_LOG_BYTES = 2048  # kubecontainer.MaxContainerTerminationMessageLogLength
_MAX_LOG_LINES = 80  # kubecontainer.MaxContainerTerminationMessageLogLines


def message_file(pod_dir: Path, container: str) -> Path:
    """A fresh, empty, world-writable file for this run of ``container`` to write its termination message to."""
    folder = pod_dir / "containers" / container
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "termination-log"
    path.write_bytes(b"")
    os.chmod(path, 0o666)  # noqa: S103 - the kubelet's mode: the container's user must be able to write it
    return path


def _last_bytes(path: Path, limit: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - limit))
        return fh.read()


def tail_of_log(log_file: str | None) -> str:
    """The last 80 lines of a log, at most their last 2048 bytes (what ``FallbackToLogsOnError`` reports)."""
    if not log_file:
        return ""
    try:
        data = _last_bytes(Path(log_file), _MAX_LOG_BYTES)
    except OSError as exc:
        return f"Error on reading termination message from logs: {exc}"
    lines = data.splitlines(keepends=True)[-_MAX_LOG_LINES:]
    return b"".join(lines).decode(errors="replace")


def message(container: Mapping[str, Any], file: Path | None, log_file: str | None, code: int) -> str:
    """The termination message of a run that exited with ``code`` (empty: none)."""
    fallback = container.get("terminationMessagePolicy") == "FallbackToLogsOnError" and code != 0
    text = ""
    if file is not None:
        try:
            text = _last_bytes(file, _MAX_FILE).decode(errors="replace")
        except FileNotFoundError:
            text = ""
        except OSError as exc:
            return f"Error on reading termination log {file}: {exc}"
    if not text and fallback:
        return tail_of_log(log_file)
    return text
