"""The contract between the lab kubelet and the launchers: what a launcher is told, and what it returns.

Why a separate, dependency-free module: launchers (written elsewhere in the lab) import :class:`LaunchContext`,
and the kubelet imports the launchers by name at start; keeping the contract here avoids an import cycle and
keeps the launchers free of the kubelet's machinery. The annotation names are the lab's only extensions of
the Kubernetes objects, so they are defined once, here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floe_lab import procs

__all__ = [
    "ADOPT_PREFIX",
    "LAUNCH_ANNOTATION",
    "LOG_FILE_ANNOTATION",
    "NODE_NAME",
    "PREVIOUS_LOG_ANNOTATION",
    "REAL_PORTS_ANNOTATION",
    "LaunchContext",
    "Launcher",
]

LAUNCH_ANNOTATION = "lab.floe.dev/launch"
LOG_FILE_ANNOTATION = "lab.floe.dev/log-file"
PREVIOUS_LOG_ANNOTATION = "lab.floe.dev/previous-log-file"
REAL_PORTS_ANNOTATION = "lab.floe.dev/real-ports"
ADOPT_PREFIX = "adopt:"
NODE_NAME = "lab-node"


@dataclass(frozen=True)
class LaunchContext:
    """Everything Kubernetes would have prepared for a container, resolved to local things.

    ``env`` is the container's resolved environment (value, secretKeyRef, configMapKeyRef, fieldRef, envFrom);
    ``ports`` maps container port names to the real loopback ports behind them; ``mounts`` maps each
    ``mountPath`` to the local folder (or file, with ``subPath``) holding the volume's files.
    """

    pod_name: str
    namespace: str
    workload: str
    kind: str
    container: Mapping[str, Any]
    env: Mapping[str, str]
    ports: Mapping[str, int]
    mounts: Mapping[str, Path]
    pod_dir: Path
    state_dir: Path


Launcher = Callable[[LaunchContext], Awaitable[procs.ProcSpec]]
