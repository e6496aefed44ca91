"""What the kernel says about the lab's processes: ``/proc`` scans, process trees, memory, ports.

Split from :mod:`floe_lab.procs` (which starts, records and stops servers) because this half only reads:
which processes belong to a server (its group, its descendants, the carriers of an environment marker),
their memory (RSS and PSS from ``smaps_rollup``), and which ports still accept connections. Linux only.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from floe_lab.freeports import free_ports

__all__ = [
    "MemUsage",
    "free_port",
    "free_ports",
    "listener_pids",
    "listening",
    "marked_pids",
    "memory_of",
    "read_stat",
    "server_pids",
]


@dataclass(frozen=True)
class MemUsage:
    """Memory of a server's processes: RSS counts shared pages in every process, PSS splits them."""

    rss_bytes: int
    pss_bytes: int
    processes: int


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, claimed for the caller (:mod:`floe_lab.freeports` says where and why)."""
    return free_ports(1, host)[0]


@dataclass(frozen=True)
class _Stat:
    state: str
    ppid: int
    pgid: int
    ticks: int


def read_stat(pid: int) -> _Stat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    return _Stat(fields[0], int(fields[1]), int(fields[2]), int(fields[19]))


def _scan() -> dict[int, _Stat]:
    """Every live (not zombie) process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := read_stat(int(entry.name))) is not None and st.state not in "ZX":
            table[int(entry.name)] = st
    return table


def _environ_has(pid: int, needle: bytes) -> bool:
    try:
        return needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def _closure(table: Mapping[int, _Stat], seeds: set[int]) -> list[int]:
    """``seeds`` plus all their descendants."""
    found, frontier = set(seeds), set(seeds)
    while frontier:
        frontier = {pid for pid, st in table.items() if st.ppid in frontier} - found
        found |= frontier
    return sorted(found)


def server_pids(pid: int, start_ticks: int, marker: str) -> list[int]:
    """A server's live processes: the group ``pid`` leads (if ``pid`` is still the process started at
    ``start_ticks``), their descendants, and every process whose environment carries ``marker``."""
    table = _scan()
    leader = table.get(pid)
    if leader is not None and leader.ticks != start_ticks:
        leader = None  # the PID now names someone else; Linux never reuses a PID that still names a group
    seeds = {p for p, st in table.items() if st.pgid == pid and (leader or pid not in table)}
    needle = marker.encode()
    seeds |= {p for p in table if p != os.getpid() and _environ_has(p, needle)}
    return _closure(table, seeds)


def marked_pids(marker: str) -> list[int]:
    """Live processes whose environment carries ``marker`` (``NAME=value``), and their descendants."""
    table, needle = _scan(), marker.encode()
    return _closure(table, {p for p in table if p != os.getpid() and _environ_has(p, needle)})


def memory_of(pids: Iterable[int]) -> MemUsage:
    """Resident memory of exactly these processes (each counted once)."""
    totals, count = {"Rss": 0, "Pss": 0}, 0
    for pid in sorted(set(pids)):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in totals:
                    totals[key] += int(value.split()[0]) * 1024
            count += 1
    return MemUsage(totals["Rss"], totals["Pss"], count)


def listening(ports: Sequence[int], host: str = "127.0.0.1") -> list[int]:
    """The ports among ``ports`` on which something still accepts TCP connections."""
    busy = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                busy.append(port)
    return busy


_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's "st" column


def listener_pids(port: int) -> set[int]:
    """The processes holding a listening TCP socket on ``port`` (any address), from ``/proc/net/tcp{,6}`` and each
    process's open sockets; empty when none is found or the owner cannot be read.

    Why: "something accepts on this port" is not "our process accepts on it" on a machine where other labs run and
    the kernel hands a freed port to the next process that asks.
    """
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[3] == _LISTEN and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{cols[9]}]")
    owners: set[int] = set()
    if not inodes:
        return owners
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                owners.add(int(entry.name))
    return owners
