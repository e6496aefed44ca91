"""tcp probe against real sockets on loopback: open, refused, black-holed, unresolvable."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from floe_agents.findings import Code, Status
from floe_agents.probes import tcp as tcp_module
from floe_agents.probes.tcp import tcp
from tests.probes.conftest import CtxFactory, run_probe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield int(s.getsockname()[1])


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A listening socket whose accept backlog is full: the kernel drops further SYNs, so connects hang."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.05)
    yield port
    for c in fillers:
        c.close()
    server.close()


async def test_open_port(make_ctx: CtxFactory, listener: int) -> None:
    ctx = make_ctx("pg", {"sql": {"urls": {"local": f"postgresql://127.0.0.1:{listener}"}}})
    [finding] = await run_probe(tcp, ctx)
    assert (finding.status, finding.code, finding.subject) == (Status.OK, Code.TCP_OPEN, f"127.0.0.1:{listener}")


async def test_refused_port(make_ctx: CtxFactory) -> None:
    port = free_port()
    ctx = make_ctx("pg", {"sql": {"urls": {"local": f"http://127.0.0.1:{port}"}}})
    [finding] = await run_probe(tcp, ctx)
    assert (finding.status, finding.code) == (Status.FAIL, Code.TCP_REFUSED)


async def test_black_holed_port_costs_one_timeout(
    make_ctx: CtxFactory, black_hole: int, listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tcp_module, "CONNECT_TIMEOUT_S", 0.3)
    ctx = make_ctx(
        "s3",
        {
            "a": {"urls": {"local": f"http://127.0.0.1:{black_hole}"}},
            "b": {"urls": {"local": f"http://127.0.0.1:{listener}"}},
        },
    )
    t0 = time.monotonic()
    findings = await run_probe(tcp, ctx)
    assert time.monotonic() - t0 < 1.0
    by_subject = {f.subject: f for f in findings}
    assert by_subject[f"127.0.0.1:{black_hole}"].code == Code.TCP_TIMEOUT
    assert by_subject[f"127.0.0.1:{listener}"].code == Code.TCP_OPEN


async def test_unresolvable_host_is_unreachable(make_ctx: CtxFactory) -> None:
    ctx = make_ctx(
        "polaris",
        {"api": {"urls": {"lab": "http://floe-infra-polaris:8181"}}},
        vantages={"lab": {"resolver": "hosts", "hosts": {}}},
        vantage="lab",
    )
    [finding] = await run_probe(tcp, ctx)
    assert finding.code == Code.TCP_UNREACHABLE and finding.evidence["reason"] == "unresolvable"
    assert finding.vantage == "lab"
