"""The catalog pod's view of the network: cluster DNS played by the lab's service table.

Why: the seed report's blocker is an S3 endpoint (``http://floe-infra-localstack:4566``) that resolves from one
vantage and not another. A real Polaris pod resolves names through cluster DNS, where service names exist and
``localhost`` is the pod itself; the host running the lab knows none of those names. So the stand-in never
asks the host's resolver: every host it contacts for its own S3/STS I/O goes through this table, which maps a
service name and its *service* port to the real loopback address the lab bound. A name missing from the table
(or the ``<bucket>.<host>`` a virtual-hosted S3 request asks for) does not resolve, exactly as in a cluster,
and the only addresses ever connected to are loopback ones the lab wrote down.

File format (JSON; re-read whenever it changes, because the lab rewrites it as servers move)::

    {"namespaces": ["floe"],
     "services": {"floe-infra-localstack": {"4566": "127.0.0.1:54321"}}}

``NAME``, ``NAME.floe``, ``NAME.floe.svc`` and ``NAME.floe.svc.cluster.local`` all name the same service (for each
namespace listed, the ones holding Services; the lab's kubelet writes the file).
"""

from __future__ import annotations

import ipaddress
import json
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ConnectFailedError", "Resolved", "ServiceTable", "UnknownHostError"]

REFUSED = "Connection refused"
TIMED_OUT = "Connect timed out"


class UnknownHostError(Exception):
    """The name does not resolve from the catalog pod."""

    def __init__(self, host: str) -> None:
        super().__init__(f"{host}: Name or service not known")
        self.host = host


class ConnectFailedError(Exception):
    """The name resolves (or is an address) but nothing from the pod's vantage accepts the connection."""

    def __init__(self, host: str, port: int, address: str, reason: str) -> None:
        super().__init__(f"Connect to {host}:{port} [{host}/{address}] failed: {reason}")
        self.host, self.port, self.address, self.reason = host, port, address, reason


@dataclass(frozen=True)
class Resolved:
    """Where a (host, service port) really is: a loopback address the lab bound."""

    host: str
    port: int
    real_host: str
    real_port: int

    @property
    def url(self) -> str:
        return f"http://{self.real_host}:{self.real_port}"


class ServiceTable:
    """Resolution through the lab's service file; thread-safe, reloads when the file's stat changes."""

    def __init__(self, path: str | Path | None) -> None:
        self._path = Path(path) if path else None
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._namespaces: tuple[str, ...] = ()
        self._services: dict[str, dict[int, tuple[str, int]]] = {}

    def resolve(self, host: str, port: int) -> Resolved:
        """Resolve ``host:port`` as the catalog pod would.

        Raises :class:`UnknownHostError` or :class:`ConnectFailedError`.
        """
        name = host.lower().rstrip(".")
        literal = _ip_literal(name)
        if name == "localhost" or (literal is not None and literal.is_loopback):
            # From inside a pod, loopback is the pod itself: nothing of the lab listens there.
            raise ConnectFailedError(host, port, "127.0.0.1", REFUSED)
        services, namespaces = self._snapshot()
        service = _strip_cluster_suffix(name, namespaces)
        if service in services:
            target = services[service].get(port)
            if target is None:
                # A ClusterIP without that port: the SYN goes nowhere.
                raise ConnectFailedError(host, port, "127.0.0.1", TIMED_OUT)
            return Resolved(host, port, *target)
        if literal is not None:
            raise ConnectFailedError(host, port, str(literal), TIMED_OUT)
        raise UnknownHostError(host)

    def names(self) -> dict[str, dict[int, tuple[str, int]]]:
        """The current table (for logs and tests)."""
        return dict(self._snapshot()[0])

    def _snapshot(self) -> tuple[dict[str, dict[int, tuple[str, int]]], tuple[str, ...]]:
        with self._lock:
            stamp = self._stat()
            if stamp != self._stamp:
                self._stamp = stamp
                self._services, self._namespaces = self._read() if stamp is not None else ({}, ())
            return self._services, self._namespaces

    def _stat(self) -> tuple[int, int, int] | None:
        if self._path is None:
            return None
        try:
            st = self._path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _read(self) -> tuple[dict[str, dict[int, tuple[str, int]]], tuple[str, ...]]:
        assert self._path is not None
        try:
            raw = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return {}, ()  # a half-written or broken file: cluster DNS is down
        return parse_services(raw)


def parse_services(raw: object) -> tuple[dict[str, dict[int, tuple[str, int]]], tuple[str, ...]]:
    """The table and its namespaces from the file's JSON; entries that are malformed or not loopback are ignored."""
    if not isinstance(raw, dict):
        return {}, ()
    listed = raw.get("namespaces")
    namespaces = tuple(str(ns) for ns in listed if ns) if isinstance(listed, list) else ()
    services: dict[str, dict[int, tuple[str, int]]] = {}
    entries = raw.get("services")
    if not isinstance(entries, dict):
        return services, namespaces
    for name, ports in entries.items():
        if not isinstance(ports, dict):
            continue
        mapped: dict[int, tuple[str, int]] = {}
        for service_port, target in ports.items():
            parsed = _parse_target(str(target))
            if parsed is not None and str(service_port).isdigit():
                mapped[int(service_port)] = parsed
        services[str(name).lower()] = mapped
    return services, namespaces


def _parse_target(target: str) -> tuple[str, int] | None:
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return None
    host = "127.0.0.1" if host == "localhost" else host.strip("[]")
    literal = _ip_literal(host)
    if literal is None or not literal.is_loopback:
        return None  # the stand-in only ever connects to loopback
    return host, int(port)


def _strip_cluster_suffix(name: str, namespaces: tuple[str, ...]) -> str:
    for namespace in namespaces:
        for suffix in (f".{namespace}.svc.cluster.local", f".{namespace}.svc", f".{namespace}"):
            if name.endswith(suffix):
                return name[: -len(suffix)]
    return name


def _ip_literal(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return None
