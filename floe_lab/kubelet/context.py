"""The contract between the lab kubelet and the launchers: what a launcher is told, and what it returns.

Why a separate, dependency-free module: launchers (written elsewhere in the lab) import :class:`LaunchContext`,
and the kubelet imports the launchers by name at start; keeping the contract here avoids an import cycle and
keeps the launchers free of the kubelet's machinery. The annotation names are the lab's only extensions of
the Kubernetes objects, so they are defined once, here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floe_lab import procs

__all__ = [
    "ADOPT_PREFIX",
    "EXEC_LAUNCHER",
    "IMAGE_PREFIX",
    "LAUNCH_ANNOTATION",
    "LOG_FILE_ANNOTATION",
    "NODE_NAME",
    "PREVIOUS_LOG_ANNOTATION",
    "REAL_PORTS_ANNOTATION",
    "ExecNotFoundError",
    "LaunchContext",
    "Launcher",
    "image_launcher",
    "launcher_for",
    "requested_command",
]

LAUNCH_ANNOTATION = "lab.floe.dev/launch"
LOG_FILE_ANNOTATION = "lab.floe.dev/log-file"
PREVIOUS_LOG_ANNOTATION = "lab.floe.dev/previous-log-file"
REAL_PORTS_ANNOTATION = "lab.floe.dev/real-ports"
ADOPT_PREFIX = "adopt:"
IMAGE_PREFIX = "image:"  # a launcher keyed by image repository: `image:ghcr.io/floe-agents/floe-agents`
EXEC_LAUNCHER = "exec"
NODE_NAME = "lab-node"


@dataclass(frozen=True)
class LaunchContext:
    """Everything Kubernetes would have prepared for a container, resolved to local things.

    ``env`` is the container's resolved environment (value, secretKeyRef, configMapKeyRef, fieldRef, envFrom);
    ``container`` is its spec with ``$(VAR)`` in ``command``/``args`` already expanded from that environment;
    ``ports`` maps container port names to the real loopback ports behind them; ``mounts`` maps each
    ``mountPath`` to the local folder (or file, with ``subPath``) holding the volume's files, and the
    ``terminationMessagePath`` to the file the kubelet reads the termination message from.
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


class ExecNotFoundError(Exception):
    """Raised by a launcher: the container's command names a program its image does not have.

    The kubelet then reports what a node reports for a container whose executable is missing: it never starts,
    exit code 127, ``executable file not found in $PATH`` in the termination message.
    """

    def __init__(self, program: str) -> None:
        self.program = program
        super().__init__(f'exec: "{program}": executable file not found in $PATH')


def requested_command(container: Mapping[str, Any], entrypoint: Sequence[str] = ()) -> list[str] | None:
    """The argv a container's spec asks for, or None when it asks for the image's default (no command, no args).

    As Kubernetes defines it: ``command`` replaces the image's ENTRYPOINT and ``args`` its CMD, so ``args`` alone
    run after the image's ``entrypoint`` (empty for an image whose default program is all in CMD).
    """
    command, args = container.get("command"), container.get("args")
    if not command and not args:
        return None
    return [str(a) for a in (command or entrypoint)] + [str(a) for a in args or ()]


def image_launcher(image: str) -> str:
    """The launcher key of an image repository, any tag or digest: ``ghcr.io/o/app:1.2`` -> ``image:ghcr.io/o/app``."""
    repository = image.split("@", 1)[0]
    slash = repository.rfind("/")
    colon = repository.rfind(":")
    if colon > slash:
        repository = repository[:colon]
    return IMAGE_PREFIX + repository


def launcher_for(
    pod: Mapping[str, Any], container: str, *, first_app: bool, image: str = "", known: Container[str] = ()
) -> str:
    """The launcher that plays a container's image: ``lab.floe.dev/launch.<container>`` if the pod names one, else
    ``lab.floe.dev/launch`` for the pod's first app container; else the launcher of the container's image repository
    (``image:<repository>``) when the node has one (``known``), as manifests written for a real cluster name only
    images; else the node's ``exec`` image for any container but the first app one (an init container's
    ``sh -c ...`` runs as written, with this machine's programs)."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    specific = annotations.get(f"{LAUNCH_ANNOTATION}.{container}")
    if specific:
        return str(specific)
    named = str(annotations.get(LAUNCH_ANNOTATION, "")) if first_app else ""
    if named:
        return named
    by_image = image_launcher(image) if image else ""
    if by_image in known:
        return by_image
    return "" if first_app else EXEC_LAUNCHER
