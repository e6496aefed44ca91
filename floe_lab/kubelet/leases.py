"""Which pod of a workload binds the workload's ports, and where a second pod of it listens meanwhile.

Why: on a cluster every pod has its own IP, so during a rolling update the new pod starts beside the old one on
the same container ports. In the lab all pods share 127.0.0.1 and a workload's container ports map to one set of
loopback ports (``ports.json``). So one pod at a time *holds* them (its process binds them); a pod of the same
workload that starts while another live pod holds them gets *surge ports* of its own (free ports, for its
lifetime) and, once it is Ready and the holder has let go (its pod scaled down and stopped), takes the workload's
ports over by relaying them to its own (:mod:`floe_lab.kubelet.forward`) until its process ends; its next run
binds them directly. A pod replacing one that is already going away (deleted, terminating) waits for it instead,
as before: that is a replacement, not a surge. All of this lives in one kubelet instance (no global state).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio

from floe_lab import procs

__all__ = ["Claim", "PortLeases"]

Key = tuple[str, str]  # (namespace, workload)


@dataclass
class _Lease:
    holder: str | None = None
    released: anyio.Event = field(default_factory=anyio.Event)


@dataclass(frozen=True)
class Claim:
    """The ports one run of a pod binds; ``surge``: not the workload's own (another pod holds those)."""

    ports: Mapping[str, int]
    surge: bool


class PortLeases:
    """The holders of the node's workloads' ports (see the module docstring)."""

    def __init__(self) -> None:
        self._leases: dict[Key, _Lease] = {}
        self._stopping: set[str] = set()
        self._surge: dict[str, dict[str, int]] = {}

    def stopping(self, uid: str) -> None:
        """The pod is going away: a pod that wants its ports waits for them rather than surging."""
        self._stopping.add(uid)

    def forget(self, uid: str) -> None:
        """The pod's worker has ended."""
        self._stopping.discard(uid)
        self._surge.pop(uid, None)

    def _release(self, lease: _Lease, uid: str) -> None:
        if lease.holder == uid:
            lease.holder = None
            lease.released.set()
            lease.released = anyio.Event()

    def _surge_ports(self, uid: str, ports: Mapping[str, int], taken: set[int]) -> dict[str, int]:
        if uid not in self._surge:
            fresh = [p for p in procs.free_ports(len(ports) + len(taken)) if p not in taken][: len(ports)]
            self._surge[uid] = dict(zip(ports, fresh, strict=True))
        return self._surge[uid]

    @asynccontextmanager
    async def claim(self, key: Key, uid: str, ports: Mapping[str, int], *, taken: set[int]) -> AsyncIterator[Claim]:
        """The ports this run of pod ``uid`` binds, held until the context ends (``taken``: ports planned for
        workloads, never handed out as surge ports)."""
        lease = self._leases.setdefault(key, _Lease())
        while lease.holder not in (None, uid) and lease.holder in self._stopping:
            await lease.released.wait()
        if lease.holder not in (None, uid):
            yield Claim(self._surge_ports(uid, ports, taken | set(ports.values())), surge=True)
            return
        lease.holder = uid
        try:
            yield Claim(dict(ports), surge=False)
        finally:
            self._release(lease, uid)

    @asynccontextmanager
    async def when_free(self, key: Key, uid: str) -> AsyncIterator[None]:
        """Wait until nobody holds the workload's ports, then hold them for ``uid`` until the context ends."""
        lease = self._leases.setdefault(key, _Lease())
        while lease.holder not in (None, uid):
            await lease.released.wait()
        lease.holder = uid
        try:
            yield
        finally:
            self._release(lease, uid)
