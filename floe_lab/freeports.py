"""Ports for the lab's servers, chosen where nothing else on the machine takes them while they wait.

Why not ``bind(0)``: the kernel hands out one ephemeral range both for ``bind(0)`` and for every outgoing
connection. The lab chooses a port at ``lab up`` for a pod that binds it seconds later (or minutes, after a scale to
zero); meanwhile the kernel could give it to anyone: a CI run saw a lab's API server started with ``bind(0)`` take
the port set aside for that lab's Jaeger, which then crashed on start for good. So ports are picked below the
kernel's ephemeral range (the kernel never hands those out), only where nothing listens, and claimed in a per-user
folder under one lock, so labs started side by side never pick the same port. A claim ages out after
:data:`CLAIM_TTL_S`; by then its server listens (and the bind check keeps the port) or is gone; a pod that starts
later renews its claims (:func:`renew`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["CLAIMS_ENV", "CLAIM_TTL_S", "claims_dir", "ephemeral_range", "free_ports", "pool", "renew"]

CLAIMS_ENV = "FLOE_LAB_PORT_CLAIMS"  # another claims folder (tests keep their own)
CLAIM_TTL_S = 1800.0
_LOWEST = 15000  # under common fixed server ports' neighbours (27017, 8080 ... are checked by binding anyway)
_MIN_POOL = 4096  # smaller than this, the kernel's choice is as good
_DEFAULT_EPHEMERAL = (32768, 65535)  # Linux's default start; macOS uses 49152-65535
_RANDOM = random.SystemRandom()


def ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (inclusive), or a default covering Linux's and macOS's."""
    try:
        low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return _DEFAULT_EPHEMERAL
    return low, high


def pool() -> range | None:
    """Ports the lab may pick from: below the ephemeral range, else above it; None when neither is big enough."""
    low, high = ephemeral_range()
    if low - _LOWEST >= _MIN_POOL:
        return range(_LOWEST, low)
    if 65535 - high >= _MIN_POOL:
        return range(high + 1, 65536)
    return None


def claims_dir() -> Path:
    """Where claims live: ``$FLOE_LAB_PORT_CLAIMS``, else a folder of this user's in the temporary folder."""
    return Path(os.environ.get(CLAIMS_ENV) or Path(tempfile.gettempdir()) / f"floe-lab-ports-{os.getuid()}")


@contextlib.contextmanager
def _locked() -> Iterator[Path]:
    folder = claims_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _claimed(folder: Path, port: int, now: float) -> bool:
    try:
        return now - (folder / str(port)).stat().st_mtime < CLAIM_TTL_S
    except FileNotFoundError:
        return False


def _kernel_ports(count: int, host: str) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports nothing listens on, claimed for the caller (see the module docstring)."""
    ports = pool()
    if ports is None:
        return _kernel_ports(count, host)
    chosen: list[int] = []
    with _locked() as folder:
        now = time.time()
        for _ in range(count * 64):
            if len(chosen) == count:
                break
            port = _RANDOM.choice(ports)
            if port in chosen or _claimed(folder, port, now) or not _bindable(host, port):
                continue
            (folder / str(port)).write_text(f"{os.getpid()}\n")
            chosen.append(port)
    if len(chosen) < count:
        raise OSError(f"no free port left in {ports.start}-{ports.stop - 1} (claims: {claims_dir()})")
    return chosen


def renew(ports: Iterable[int]) -> None:
    """Claim ``ports`` afresh (a server about to bind them again, e.g. after a scale to zero)."""
    with _locked() as folder:
        for port in ports:
            (folder / str(port)).write_text(f"{os.getpid()}\n")
