"""kube-proxy's ClusterIP rules for the lab: every Service's (ClusterIP, Service port) relays to its real port.

Why: a pod's client may resolve a Service name once (``getaddrinfo(host, None)``) and connect to (address,
Service port) — libpq does, and so do floe-agents' own checks — which only works if something answers on the
address at the *Service's* port. So each Service gets a loopback ClusterIP (:func:`floe_lab.network.assign_cluster_ips`,
recorded in ``services.json`` as ``cluster_ips`` for :mod:`floe_lab.podnet`), and the kubelet listens there on
each Service port that has a backend, relaying to the real port with :func:`~floe_lab.kubelet.forward.relay_address`.

Refusals stay real: kube-proxy rewrites the SYN, so a backend that does not listen refuses the client's connect.
A relay that accepted and then failed upstream would turn that into "connected, then closed", so a listener is
only open while its backend's port is listening (``/proc/net/tcp``, read every tick: no probe connections for the
backends to log). Closing a listener leaves established connections alone, as conntrack does.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup

from floe_lab.kubelet.endpoints import SERVICES_FILE
from floe_lab.kubelet.forward import Address, relay_address
from floe_lab.network import assign_cluster_ips, cluster_ips_bindable

__all__ = ["ServiceProxy", "listening_ports"]

_log = structlog.get_logger("floe_lab.kubelet")
# How often the backends' listening state is read (all of /proc/net/tcp*, every socket of the host): quickly while a
# route waits for its backend to come up (a client may connect the moment the pod is Ready), slowly once every
# backend listens (a scan per 0.25 s was the most of an idle lab's kubelet CPU).
_TICK_WAITING = 0.25
_TICK_ALL_UP = 2.0
_LOCAL_HOSTS = ("127.0.0.1", "localhost")
# /proc/net/tcp{,6} spell addresses as little-endian hex words; these reach 127.0.0.1.
_REACHABLE = {
    "tcp": {"0100007F", "00000000"},
    "tcp6": {"0" * 32, "0000000000000000FFFF00000100007F", "0000000000000000FFFF000000000000"},
}
_LISTEN = "0A"


def listening_ports() -> set[int] | None:
    """The ports a process listens on at 127.0.0.1 (or a wildcard), or None where ``/proc`` cannot tell."""
    found: set[int] = set()
    readable = False
    for table, hosts in _REACHABLE.items():
        try:
            lines = Path("/proc/net", table).read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _LISTEN:
                host, port = fields[1].split(":")
                if host in hosts:
                    found.add(int(port, 16))
    return found if readable else None


def _previous(state_dir: Path) -> dict[str, str]:
    try:
        ips = json.loads((state_dir / SERVICES_FILE).read_text()).get("cluster_ips") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in ips.items()}


class ServiceProxy:
    """Assigns ClusterIPs into the Service table (:meth:`assign`) and serves them (:meth:`run`, until cancelled).

    Made by :meth:`load`: the assignments of an earlier kubelet of this lab are kept (``services.json``), and a
    host that cannot bind a loopback address besides 127.0.0.1 gets none (pods keep the real ports).
    """

    def __init__(self, state_dir: Path, *, enabled: bool, previous: dict[str, str]) -> None:
        self._salt = str(state_dir)
        self.enabled = enabled
        self._ips = previous if enabled else {}
        self._routes: dict[Address, Address] = {}
        self._changed = anyio.Event()
        self._warned: set[Address] = set()

    @classmethod
    async def load(cls, state_dir: Path) -> ServiceProxy:
        enabled = await anyio.to_thread.run_sync(cluster_ips_bindable)
        return cls(state_dir, enabled=enabled, previous=await anyio.to_thread.run_sync(_previous, state_dir))

    def assign(self, table: dict[str, Any]) -> dict[str, Any]:
        """``table`` with ``cluster_ips`` (Service -> address) added; its routes become the ones served."""
        if not self.enabled:
            return table
        services: dict[str, dict[str, str]] = table["services"]
        self._ips = assign_cluster_ips({n: [int(p) for p in r] for n, r in services.items()}, self._salt, self._ips)
        table["cluster_ips"] = dict(self._ips)
        routes: dict[Address, Address] = {}
        for name, ip in self._ips.items():
            for svc_port, target in services.get(name, {}).items():
                host, real = target.rsplit(":", 1)
                routes[(ip, int(svc_port))] = (host, int(real))
        if routes != self._routes:
            self._routes = routes
            self._changed.set()
        return table

    async def run(self) -> None:
        """Keep one listener per route whose backend listens; connections outlive their listener."""
        if not self.enabled:
            _log.warning(
                "no ClusterIPs: this host cannot bind loopback addresses besides 127.0.0.1; pods get real ports"
            )
            return
        running: dict[Address, tuple[Address, anyio.CancelScope]] = {}
        async with anyio.create_task_group() as connections:
            while True:
                changed = self._changed
                listening = await anyio.to_thread.run_sync(listening_ports)
                wanted = {a: t for a, t in self._routes.items() if _up(t, listening)}
                for address, (target, scope) in list(running.items()):
                    if wanted.get(address) != target:
                        scope.cancel()
                        del running[address]
                for address, target in wanted.items():
                    if address not in running:
                        running[address] = (target, anyio.CancelScope())
                        connections.start_soon(self._serve, running[address][1], address, target, connections)
                with anyio.move_on_after(_TICK_ALL_UP if len(wanted) == len(self._routes) else _TICK_WAITING):
                    await changed.wait()
                if changed.is_set():
                    self._changed = anyio.Event()

    async def _serve(self, scope: anyio.CancelScope, address: Address, target: Address, connections: TaskGroup) -> None:
        with scope:
            await relay_address(
                address, target, on_bind_error=lambda exc: self._bind_failed(address, exc), tg=connections
            )

    def _bind_failed(self, address: Address, exc: OSError) -> None:
        if address in self._warned:
            return
        self._warned.add(address)
        why = "a port below 1024 needs root or CAP_NET_BIND_SERVICE" if exc.errno == errno.EACCES else str(exc)
        _log.warning("cannot listen on a ClusterIP (retrying)", address=f"{address[0]}:{address[1]}", why=why)


def _up(target: Address, listening: set[int] | None) -> bool:
    """Whether ``target`` listens (a target off this host's loopback, or no ``/proc``: assume it does)."""
    return listening is None or target[0] not in _LOCAL_HOSTS or target[1] in listening
