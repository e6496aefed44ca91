"""The lab's network plan: a real loopback port per container port, and the Service table derived from it.

In a cluster, a Service name and port reach a container port through cluster DNS and kube-proxy. The lab plays
both with two files in its state folder: ``ports.json`` (workload -> container port name -> real port, chosen
free once at ``lab up`` and stable across restarts) and ``services.json`` (Service -> Service port ->
``127.0.0.1:<real>``), which the pod network (``floe_lab.podnet``), the catalog stand-in and the
launchers read. NodePorts are not emulated; the local vantage uses the real ports directly.

Each Service also gets a ClusterIP of its own on the loopback network (``cluster_ips`` in ``services.json``; Linux
answers on all of 127.0.0.0/8 without configuration), where the kubelet listens on every Service port and relays
to the real port, as kube-proxy does: a client may resolve a Service name once and connect to (address, Service
port), as libpq and floe-agents' own checks do. Where this host cannot bind those addresses, there are none and
pods are routed to the real ports as before.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import ipaddress
import json
import os
import socket
import tempfile
from collections.abc import Collection, Iterable, Mapping
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from floe_lab.procs import free_ports

__all__ = [
    "CLUSTER_IP_NETWORK",
    "PORTS_FILE",
    "SERVICES_FILE",
    "ServiceTable",
    "allocate_ports",
    "assign_cluster_ips",
    "cluster_ips_bindable",
    "cluster_suffixes",
    "services_table",
    "write_json",
    "write_private",
]

PORTS_FILE = "ports.json"
SERVICES_FILE = "services.json"
CLUSTER_IP_NETWORK = ipaddress.IPv4Network("127.64.0.0/10")  # loopback, clear of 127.0.0.1 and 127.0.1.1
_PROBES = 64  # addresses tried for one Service before taking one whose ports look busy


def cluster_ips_bindable() -> bool:
    """Whether this host lets a process listen on a loopback address other than 127.0.0.1 (Linux: yes; macOS
    only after ``ifconfig lo0 alias``). Without it the lab has no ClusterIPs."""
    try:
        with socket.socket() as probe:
            probe.bind((str(CLUSTER_IP_NETWORK[1]), 0))
    except OSError:
        return False
    return True


def _ports_busy(ip: str, ports: Iterable[int]) -> bool:
    """Whether another listener (another lab's kubelet, or a wildcard one) holds one of ``ports`` on ``ip``."""
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((ip, port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return True
    return False


def assign_cluster_ips(
    services: Mapping[str, Collection[int]], salt: str, previous: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A ClusterIP in :data:`CLUSTER_IP_NETWORK` for every Service name (name -> its Service ports).

    Why hashed from ``salt`` (the lab's state folder) and the name: stable for a lab without a registry, and two labs
    on one machine (the test suite runs several) do not meet on the same address. ``previous`` assignments are kept,
    so a Service never moves while the lab runs; a clash (same address in this lab, or its ports already bound there
    by someone else) moves on to the next address.
    """
    kept = {n: ip for n, ip in (previous or {}).items() if n in services and _is_cluster_ip(ip)}
    taken = set(kept.values())
    size = CLUSTER_IP_NETWORK.num_addresses
    for name in sorted(set(services) - set(kept)):
        digest = int.from_bytes(hashlib.sha256(f"{salt}\0{name}".encode()).digest()[:8], "big")
        candidates = (CLUSTER_IP_NETWORK[(digest + step) % size] for step in range(size))
        spelled = (str(c) for c in candidates if c.packed[-1] not in (0, 255))  # no .0 or .255: they look odd
        usable = list(islice((ip for ip in spelled if ip not in taken), _PROBES))
        chosen = next((ip for ip in usable if not _ports_busy(ip, services[name])), usable[0])
        kept[name] = chosen
        taken.add(chosen)
    return kept


def _is_cluster_ip(value: str) -> bool:
    try:
        return ipaddress.IPv4Address(value) in CLUSTER_IP_NETWORK
    except ValueError:
        return False


def cluster_suffixes(namespaces: Iterable[str]) -> tuple[str, ...]:
    """The endings a pod may put after a Service name (``.<ns>.svc.cluster.local``, ``.<ns>.svc``, ``.<ns>``, ...),
    longest first, for the namespaces that hold Services."""
    spelled = [f".{ns}{tail}" for ns in namespaces for tail in (".svc.cluster.local", ".svc", "")]
    return (*sorted(spelled, key=len, reverse=True), ".svc.cluster.local", ".cluster.local")


def write_json(path: Path, data: Any) -> None:
    write_private(path, json.dumps(data, indent=2, sort_keys=True))


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600 from the first byte, whatever the umask) and
    atomically: a temporary file in the same folder, fsync, rename. The lab's files hold tokens and passwords."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _workloads(manifests: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [m for m in manifests if m["kind"] in ("Deployment", "StatefulSet")]


def allocate_ports(manifests: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """A free loopback port for every named container port of every Deployment/StatefulSet."""
    wanted = [
        (w["metadata"]["name"], p["name"])
        for w in _workloads(manifests)
        for c in w["spec"]["template"]["spec"]["containers"]
        for p in c.get("ports", [])
    ]
    out: dict[str, dict[str, int]] = {}
    for (workload, port_name), real in zip(wanted, free_ports(len(wanted)), strict=True):
        out.setdefault(workload, {})[port_name] = real
    return out


def services_table(manifests: Iterable[Mapping[str, Any]], ports: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """``{"services": {svc: {svcPort: "127.0.0.1:real"}}, "namespaces": [...]}`` from Service selectors and
    targetPorts (the kubelet keeps the file up to date afterwards, in the same form)."""
    items = list(manifests)
    table: dict[str, dict[str, str]] = {}
    services = [m for m in items if m["kind"] == "Service"]
    for svc in services:
        selector = svc["spec"].get("selector", {})
        for w in _workloads(items):
            labels = w["spec"]["template"]["metadata"].get("labels", {})
            if not selector or any(labels.get(k) != v for k, v in selector.items()):
                continue
            for p in svc["spec"]["ports"]:
                real = ports.get(w["metadata"]["name"], {}).get(str(p["targetPort"]))
                if real is not None:
                    table.setdefault(svc["metadata"]["name"], {})[str(p["port"])] = f"127.0.0.1:{real}"
    return {
        "services": table,
        "namespaces": sorted({str(s["metadata"].get("namespace") or "") for s in services} - {""}),
    }


class ServiceTable:
    """Resolve ``<service>[.<namespace>[.svc[.cluster.local]]]:<port>`` the way a pod would, for C-level clients
    (libpq, gRPC core) that the Python-level pod network cannot reach."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._services: Mapping[str, Mapping[str, str]] = data.get("services", {})
        self._cluster_ips: Mapping[str, str] = data.get("cluster_ips") or {}
        self._suffixes = cluster_suffixes(data.get("namespaces") or ())

    @classmethod
    def load(cls, path: Path) -> ServiceTable:
        return cls(json.loads(path.read_text()))

    def _short(self, host: str) -> str:
        for suffix in self._suffixes:
            if host.endswith(suffix):
                return host[: -len(suffix)]
        return host

    def cluster_ip(self, host: str) -> str | None:
        """The ClusterIP a pod resolves ``host`` to (where the kubelet relays each Service port), if any."""
        return self._cluster_ips.get(self._short(host))

    def route(self, host: str, port: int) -> tuple[str, int] | None:
        """The real address behind a Service's port (for a client that cannot use the pod network)."""
        target = self._services.get(self._short(host), {}).get(str(port))
        if target is None:
            return None
        addr, real = target.rsplit(":", 1)
        return addr, int(real)

    def url(self, url: str) -> str:
        """``url`` with a Service host:port replaced by the real address; anything else unchanged."""
        parts = urlsplit(url)
        if parts.hostname is None:
            return url
        default = {"http": 80, "https": 443, "grpc": 80, "postgresql": 5432}.get(parts.scheme, 80)
        routed = self.route(parts.hostname, parts.port or default)
        if routed is None:
            return url
        return urlunsplit(parts._replace(netloc=f"{routed[0]}:{routed[1]}"))
