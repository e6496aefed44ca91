"""The lab's network plan: a real loopback port per container port, and the Service table derived from it.

In a cluster, a Service name and port reach a container port through cluster DNS and kube-proxy. The lab plays
both with two files in its state folder: ``ports.json`` (workload -> container port name -> real port, chosen
free once at ``lab up`` and stable across restarts) and ``services.json`` (Service -> Service port ->
``127.0.0.1:<real>``), which the pod network (``floe_lab.podnet``), the catalog stand-in and the
launchers read. NodePorts are not emulated; the local vantage uses the real ports directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from floe_lab.procs import free_ports

__all__ = [
    "PORTS_FILE",
    "SERVICES_FILE",
    "ServiceTable",
    "allocate_ports",
    "cluster_suffixes",
    "services_table",
    "write_json",
    "write_private",
]

PORTS_FILE = "ports.json"
SERVICES_FILE = "services.json"


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
        self._suffixes = cluster_suffixes(data.get("namespaces") or ())

    @classmethod
    def load(cls, path: Path) -> ServiceTable:
        return cls(json.loads(path.read_text()))

    def route(self, host: str, port: int) -> tuple[str, int] | None:
        short = host
        for suffix in self._suffixes:
            if short.endswith(suffix):
                short = short[: -len(suffix)]
                break
        target = self._services.get(short, {}).get(str(port))
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
