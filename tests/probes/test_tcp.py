"""tcp probe against real sockets on loopback: open, refused, black-holed, unresolvable."""

from __future__ import annotations

import time

import pytest

from floe_agents.findings import Code, Status
from floe_agents.probes import tcp as tcp_module
from floe_agents.probes.tcp import tcp
from tests.support.net import closed_port
from tests.support.probes import CtxFactory, run_probe


async def test_open_port(make_ctx: CtxFactory, listening_port: int) -> None:
    ctx = make_ctx("pg", {"sql": {"urls": {"local": f"postgresql://127.0.0.1:{listening_port}"}}})
    [finding] = await run_probe(tcp, ctx)
    assert (finding.status, finding.code, finding.subject) == (Status.OK, Code.TCP_OPEN, f"127.0.0.1:{listening_port}")


async def test_refused_port(make_ctx: CtxFactory) -> None:
    port = closed_port()
    ctx = make_ctx("pg", {"sql": {"urls": {"local": f"http://127.0.0.1:{port}"}}})
    [finding] = await run_probe(tcp, ctx)
    assert (finding.status, finding.code) == (Status.FAIL, Code.TCP_REFUSED)


async def test_black_holed_port_costs_one_timeout(
    make_ctx: CtxFactory, black_holed_port: int, listening_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tcp_module, "CONNECT_TIMEOUT_S", 0.3)
    ctx = make_ctx(
        "s3",
        {
            "a": {"urls": {"local": f"http://127.0.0.1:{black_holed_port}"}},
            "b": {"urls": {"local": f"http://127.0.0.1:{listening_port}"}},
        },
    )
    t0 = time.monotonic()
    findings = await run_probe(tcp, ctx)
    assert time.monotonic() - t0 < 1.0
    by_subject = {f.subject: f for f in findings}
    assert by_subject[f"127.0.0.1:{black_holed_port}"].code == Code.TCP_TIMEOUT
    assert by_subject[f"127.0.0.1:{listening_port}"].code == Code.TCP_OPEN


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
