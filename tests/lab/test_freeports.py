"""The lab's port picks (floe_lab.freeports): outside the kernel's ephemeral range, never where something listens,
never twice while claimed. Each test keeps its own claims folder."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from floe_lab import freeports


@pytest.fixture(autouse=True)
def claims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "claims"
    monkeypatch.setenv(freeports.CLAIMS_ENV, str(folder))
    return folder


def test_ports_are_outside_the_kernels_ephemeral_range() -> None:
    low, high = freeports.ephemeral_range()
    ports = freeports.free_ports(50)
    assert len(set(ports)) == 50
    assert all(not low <= p <= high for p in ports)


def test_a_port_the_kernel_hands_out_is_never_one_the_lab_picked() -> None:
    """What the CI run tripped on: bind(0) (an API server's port) landing on a port set aside for a pod."""
    picked = set(freeports.free_ports(100))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        assert sock.getsockname()[1] not in picked


def test_claimed_ports_are_not_picked_again_until_the_claim_ages_out(claims: Path) -> None:
    first = set(freeports.free_ports(200))
    assert first.isdisjoint(freeports.free_ports(200))
    assert {int(p.name) for p in claims.iterdir() if p.name.isdigit()} >= first
    old = time.time() - freeports.CLAIM_TTL_S - 1
    for port in first:
        os.utime(claims / str(port), (old, old))
    renewed = sorted(first)[0]
    freeports.renew([renewed])
    assert freeports._claimed(claims, renewed, time.time())
    assert not freeports._claimed(claims, sorted(first)[1], time.time())


def test_a_port_something_listens_on_is_never_picked(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = freeports.pool()
    assert pool is not None
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        taken = busy.getsockname()[1]
        busy.listen()
        picks = iter([taken, taken, pool.start + 7])
        monkeypatch.setattr(freeports._RANDOM, "choice", lambda _seq: next(picks))
        assert freeports.free_ports(1) == [pool.start + 7]


def test_the_pool_is_below_the_range_else_above_else_the_kernel_chooses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(freeports, "ephemeral_range", lambda: (32768, 60999))
    assert freeports.pool() == range(15000, 32768)
    monkeypatch.setattr(freeports, "ephemeral_range", lambda: (1024, 50000))
    assert freeports.pool() == range(50001, 65536)
    monkeypatch.setattr(freeports, "ephemeral_range", lambda: (1024, 65000))
    assert freeports.pool() is None
    ports = freeports.free_ports(3)
    assert len(set(ports)) == 3 and all(1024 <= p <= 65000 for p in ports)


def test_a_full_pool_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(freeports, "ephemeral_range", lambda: (32768, 60999))
    monkeypatch.setattr(freeports, "_bindable", lambda _h, _p: False)
    with pytest.raises(OSError, match="no free port left in 15000-"):
        freeports.free_ports(1)
