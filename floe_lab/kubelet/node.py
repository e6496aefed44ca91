"""What all pod workers of one kubelet share: the node's services and its timing.

Why a frozen bundle: a worker needs the state folder, the launchers, the event recorder, the port book, the
port leases, the token manager and a way to wake the sync loop, and nothing else; passing them as one immutable
value keeps the workers free of any reference to the kubelet itself and keeps all mutable state inside the kubelet
instance (none is global).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from floe_lab.kubelet.backoff import BACKOFF_BASE, BACKOFF_MAX
from floe_lab.kubelet.context import Launcher
from floe_lab.kubelet.leases import PortLeases
from floe_lab.kubelet.ports import PortBook
from floe_lab.kubelet.recorder import EventRecorder
from floe_lab.kubelet.serviceaccount import ServiceAccounts

__all__ = ["NodeServices", "Timing", "go_duration"]


class Timing(TypedDict):
    """The node's clocks, seconds (see :class:`~floe_lab.kubelet.Kubelet`)."""

    resync: float
    backoff_base: float
    backoff_max: float
    stop_grace: float


@dataclass(frozen=True)
class NodeServices:
    """What every pod worker of one kubelet shares."""

    state_dir: Path
    launchers: Mapping[str, Launcher]
    recorder: EventRecorder
    port_book: PortBook
    wake: Callable[[], None]
    resync: float = 0.5
    backoff_base: float = BACKOFF_BASE
    backoff_max: float = BACKOFF_MAX
    stop_grace: float = 3.0
    leases: PortLeases = field(default_factory=PortLeases)
    accounts: ServiceAccounts | None = None  # service-account credentials (None: pods get none)


def go_duration(seconds: float) -> str:
    """A duration as Go prints it (``1s``, ``500ms``, ``1m30s``), for messages that quote the kubelet."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(round(seconds, 3), 60)
    text = f"{rest:g}s"
    return f"{int(minutes)}m{text}" if minutes else text
