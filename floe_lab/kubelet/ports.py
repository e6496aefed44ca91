"""The lab's real loopback ports per workload (``ports.json``), kept stable across pod restarts.

Why a file and not the pod: in a cluster a container port is the same number in every pod; in the lab every pod
shares 127.0.0.1, so each workload's container ports are mapped once to free loopback ports. The lab writes
``ports.json`` before the kubelet starts; a workload it did not plan for (created later, e.g. by a remediation)
gets free ports here, written back so they survive kubelet restarts. Which pod of a workload binds them at a
given moment is decided by :mod:`floe_lab.kubelet.leases`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from floe_lab import procs

__all__ = ["PORTS_FILE", "PortBook", "port_key", "write_json_atomic"]

PORTS_FILE = "ports.json"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and a rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(path)


def port_key(port: Mapping[str, Any]) -> str:
    """How a container port is named in ``ports.json``: its name, or its number when unnamed."""
    return str(port.get("name") or port.get("containerPort"))


class PortBook:
    """Reads (and extends) ``<state>/ports.json``."""

    def __init__(self, state_dir: Path) -> None:
        self._path = state_dir / PORTS_FILE
        self._cache: dict[str, dict[str, int]] = {}
        self._mtime: float | None = None
        self._file_lock = threading.Lock()

    def table(self) -> dict[str, dict[str, int]]:
        """workload -> container port name -> real port (re-read when the file changes)."""
        try:
            mtime = self._path.stat().st_mtime
        except OSError:
            return self._cache
        if mtime != self._mtime:
            try:
                raw = json.loads(self._path.read_text())
            except (OSError, ValueError):
                return self._cache
            self._cache = {str(w): {str(n): int(p) for n, p in named.items()} for w, named in raw.items()}
            self._mtime = mtime
        return self._cache

    def ports_for(self, workload: str, containers: list[Mapping[str, Any]]) -> dict[str, int]:
        """The workload's real ports, allocating (and recording) any container port not planned yet."""
        with self._file_lock:  # workers call this from threads: one allocation and write at a time
            table = {w: dict(named) for w, named in self.table().items()}
            named = table.setdefault(workload, {})
            wanted = [port_key(p) for c in containers for p in c.get("ports") or []]
            missing = list(dict.fromkeys(k for k in wanted if k not in named))
            if missing:
                taken = {p for ports in table.values() for p in ports.values()}
                fresh = [p for p in procs.free_ports(len(missing) + len(taken)) if p not in taken][: len(missing)]
                named.update(zip(missing, fresh, strict=True))
                self._path.parent.mkdir(parents=True, exist_ok=True)
                write_json_atomic(self._path, table)
                self._cache, self._mtime = table, self._path.stat().st_mtime
            return dict(named)
