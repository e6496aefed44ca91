"""host_down follow-up over real sockets on loopback: a host where no component's port accepts a connection is one
finding naming them all; a host where anything answers, or with a single component, is not a host problem."""

from __future__ import annotations

import dataclasses
import time

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.probes import host_down as host_down_module
from floe_agents.probes.host_down import host_down
from tests.support.net import black_hole, closed_port, listener
from tests.support.probes import CtxFactory, run_probe


def ctx_with(make_ctx: CtxFactory, ports: dict[str, int], host: str = "127.0.0.1") -> ProbeContext:
    base = make_ctx("postgres", {})
    targets = Targets.model_validate(
        {
            "vantages": {"local": {"resolver": "system"}},
            "components": {
                name: {"endpoints": {"api": {"urls": {"local": f"http://{host}:{port}"}}}}
                for name, port in ports.items()
            },
        }
    )
    return dataclasses.replace(base, targets=targets, check="host_down")


def refused(ctx: ProbeContext, component: str, port: int, host: str = "127.0.0.1") -> Finding:
    return (
        ctx.for_component(component)
        .for_check("tcp")
        .finding(
            Status.FAIL,
            Code.TCP_REFUSED,
            f"{host}:{port} refused the connection",
            subject=f"{host}:{port}",
            evidence={"host": host, "port": port},
        )
    )


async def test_nothing_on_the_host_answers(make_ctx: CtxFactory) -> None:
    ports = {"postgres": closed_port(), "polaris": closed_port(), "s3": closed_port()}
    ctx = ctx_with(make_ctx, ports)
    assert host_down.triggered_by(refused(ctx, "postgres", ports["postgres"]))
    [finding] = await run_probe(host_down, ctx, refused(ctx, "postgres", ports["postgres"]))
    assert (finding.code, finding.status, finding.component, finding.subject) == (
        "tcp.host_down",
        Status.FAIL,
        "kubernetes",
        "127.0.0.1",
    )
    assert finding.evidence["components"] == ["polaris", "postgres", "s3"]
    assert finding.evidence["ports"] == sorted(ports.values())
    # A second trigger in the same run gets the same answer, as the same finding (one key: one root cause).
    [again] = await run_probe(host_down, ctx, refused(ctx, "s3", ports["s3"]))
    assert again.key == finding.key


async def test_one_port_answering_means_the_host_is_up(make_ctx: CtxFactory) -> None:
    with listener() as open_port:
        ports = {"postgres": closed_port(), "polaris": open_port}
        ctx = ctx_with(make_ctx, ports)
        assert await run_probe(host_down, ctx, refused(ctx, "postgres", ports["postgres"])) == []


async def test_a_single_component_on_the_host_is_its_own_problem(make_ctx: CtxFactory) -> None:
    ports = {"postgres": closed_port()}
    ctx = ctx_with(make_ctx, ports)
    assert await run_probe(host_down, ctx, refused(ctx, "postgres", ports["postgres"])) == []


async def test_only_the_triggering_host_counts(make_ctx: CtxFactory) -> None:
    ports = {"postgres": closed_port(), "polaris": closed_port()}
    ctx = ctx_with(make_ctx, ports)
    other_host = refused(ctx, "postgres", 5432, host="10.0.0.7")  # no endpoint of the targets is on it
    assert await run_probe(host_down, ctx, other_host) == []
    elsewhere = refused(ctx, "postgres", ports["postgres"]).model_copy(update={"vantage": "cluster"})
    assert await run_probe(host_down, ctx, elsewhere) == []


async def test_an_answer_settles_it_without_waiting_on_a_black_hole(make_ctx: CtxFactory) -> None:
    with black_hole() as silent, listener() as open_port:
        ports = {"postgres": silent, "polaris": open_port, "s3": closed_port()}
        ctx = ctx_with(make_ctx, ports)
        start = time.monotonic()
        assert await run_probe(host_down, ctx, refused(ctx, "s3", ports["s3"])) == []
        assert time.monotonic() - start < host_down_module.CONNECT_TIMEOUT_S / 2
        # With no port answering, the black hole costs one connect timeout, not one per port.
        ports = {"postgres": silent, "s3": closed_port()}
        ctx = ctx_with(make_ctx, ports)
        start = time.monotonic()
        [down] = await run_probe(host_down, ctx, refused(ctx, "s3", ports["s3"]))
        assert time.monotonic() - start < host_down_module.CONNECT_TIMEOUT_S + 0.5
    assert down.evidence["components"] == ["postgres", "s3"]


async def test_through_the_engine_one_root_cause_instead_of_one_per_component() -> None:
    from floe_agents.probes.tcp import tcp  # noqa: PLC0415
    from floe_agents.registry import Registry  # noqa: PLC0415
    from floe_agents.swarm import Plan, investigate  # noqa: PLC0415

    ports = {"postgres": closed_port(), "polaris": closed_port(), "s3": closed_port(), "marquez": closed_port()}
    targets = Targets.model_validate(
        {
            "vantages": {"local": {"resolver": "system"}},
            "components": {
                name: {"endpoints": {"api": {"urls": {"local": f"http://127.0.0.1:{port}"}}}}
                for name, port in ports.items()
            },
        }
    )
    with_follow_up = await investigate(Plan(targets=targets, registry=Registry.of([tcp, host_down])))
    [cause] = with_follow_up.analysis.root_causes
    assert (cause.rule, cause.cause.code) == ("host-down", "tcp.host_down")
    assert sorted(s.finding.component for s in cause.symptoms) == sorted(ports)
    assert with_follow_up.analysis.unexplained == ()
    without = await investigate(Plan(targets=targets, registry=Registry.of([tcp])))
    assert [rc.rule for rc in without.analysis.root_causes] == ["component-not-listening"] * len(ports)
