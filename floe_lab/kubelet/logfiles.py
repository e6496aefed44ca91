"""The node's container log folders, as the API server's ``pods/{name}/log`` reads them.

Why links: a container's output is written by ``floe_lab.procs`` to ``<state>/logs/<process>.log`` (and the run
before it kept as ``<process>.previous.log``), where the lab's tools have always found it; the API server reads
the kubelet's layout instead (``<state>/pod-logs/<ns>_<pod>_<uid>/<container>/current.log`` and
``previous.log``, :mod:`floe_lab.kube.logs`). Symbolic links make the two the same files, so a container's
output reaches ``kubectl logs`` (``-c``, ``--previous``, ``--tail``, ``-f``) the moment it is printed.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from floe_lab.kube.logs import CURRENT_LOG, PREVIOUS_LOG, pod_log_dir

__all__ = ["forget_pod", "link_logs"]


def _link(link: Path, target: str | None) -> None:
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    if target is not None:
        link.symlink_to(Path(target).resolve())


def link_logs(state_dir: Path, pod: tuple[str, str, str], container: str, current: str, previous: str | None) -> None:
    """Point the container's ``current.log``/``previous.log`` at this run's files; ``pod``: (namespace, name, uid)."""
    folder = pod_log_dir(state_dir, *pod) / container
    folder.mkdir(parents=True, exist_ok=True)
    _link(folder / CURRENT_LOG, current)
    _link(folder / PREVIOUS_LOG, previous)


def forget_pod(state_dir: Path, pod: tuple[str, str, str]) -> None:
    """The pod is gone: so are its log folders (its process logs stay where ``procs`` wrote them)."""
    shutil.rmtree(pod_log_dir(state_dir, *pod), ignore_errors=True)
