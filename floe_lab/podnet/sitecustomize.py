"""Cluster DNS and Service routing for the lab's pod processes (loaded through PYTHONPATH by the lab kubelet).

A lab "pod" is a process on this machine, but it must see the network a pod sees: Service names such as
``floe-infra-localstack`` (and ``.<namespace>``, ``.<namespace>.svc``, ``.<namespace>.svc.cluster.local``, for the
namespaces the table lists) resolve, and their
Service port is routed to the real loopback port behind it, while a bare name that is no Service (``localstack``)
does not resolve even if this machine's /etc/hosts knows it. That makes endpoint faults real for every Python
client in the pod (httpx, botocore, aiohttp, ...). The table is the JSON file named by ``FLOE_LAB_SERVICES``:
``{"services": {"<name>": {"<port>": "127.0.0.1:<real port>"}}, "namespaces": ["<namespace>"],
"cluster_ips": {"<name>": "<address>"}}``. Nothing happens without that variable.

A Service with a ClusterIP resolves to it with the port asked for, whatever it is (None, a port the Service does
not have): the kubelet listens there on each Service port that has a backend, as kube-proxy would, so a client
may resolve once and connect to (address, Service port) — libpq and floe-agents do. A table without
``cluster_ips`` (a host that cannot bind them) routes to the real port instead, and an unknown port to 127.0.0.1:9.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
from typing import Any

_TABLE_ENV = "FLOE_LAB_SERVICES"


def _suffixes(namespaces: list[str]) -> list[str]:
    """What may follow a Service name, longest first (as floe_lab.network.cluster_suffixes: no import here)."""
    spelled = [f".{ns}{tail}" for ns in namespaces for tail in (".svc.cluster.local", ".svc", "")]
    return [*sorted(spelled, key=len, reverse=True), ".svc.cluster.local", ".cluster.local"]


def _install() -> None:
    path = os.environ.get(_TABLE_ENV)
    if not path:
        return
    real_getaddrinfo = socket.getaddrinfo
    cache: dict[str, Any] = {"mtime": None, "services": {}, "cluster_ips": {}, "suffixes": _suffixes([])}

    def services() -> dict[str, dict[str, str]]:
        try:
            mtime = os.stat(path).st_mtime
        except OSError:
            return {}
        if mtime != cache["mtime"]:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
            cache["services"] = doc.get("services", {})
            cache["cluster_ips"] = doc.get("cluster_ips") or {}
            cache["suffixes"] = _suffixes(list(doc.get("namespaces") or []))
            cache["mtime"] = mtime
        table: dict[str, dict[str, str]] = cache["services"]
        return table

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name and not name[0].isdigit() and name not in ("localhost",):
            table = services()
            short = name
            for suffix in cache["suffixes"]:
                if short.endswith(suffix):
                    short = short[: -len(suffix)]
                    break
            if short in table and short in cache["cluster_ips"]:
                return real_getaddrinfo(cache["cluster_ips"][short], port, *args, **kwargs)
            if short in table:
                target = table[short].get(str(port)) if port is not None else None
                if target is None:  # a Service port that does not exist: resolves, but nothing answers there
                    return real_getaddrinfo("127.0.0.1", 9, *args, **kwargs)
                addr, real_port = target.rsplit(":", 1)
                return real_getaddrinfo(addr, int(real_port), *args, **kwargs)
            if "." not in short or short != name:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


_install()
importlib.import_module("podnet_serviceaccount")  # the pod's own service-account files at the fixed path
