"""dns probe and the resolve_everywhere follow-up, over real resolvers (system for our vantage, hosts tables)."""

from __future__ import annotations

from floe_agents.findings import Code, Status
from floe_agents.probes.dns import dns
from floe_agents.probes.resolve_everywhere import resolve_everywhere
from tests.support.probes import CtxFactory, run_probe

TWO_VANTAGES = {
    "local": {"resolver": "system"},
    "cluster": {
        "resolver": "hosts",
        "hosts": {"floe-infra-localstack": "10.96.0.20"},
        "search": ["floe.svc.cluster.local", "svc.cluster.local", "cluster.local"],
    },
}


async def test_resolves_from_each_observable_vantage(make_ctx: CtxFactory) -> None:
    ctx = make_ctx(
        "s3",
        {
            "api": {
                "urls": {
                    "local": "http://localhost:30566",
                    "cluster": "http://floe-infra-localstack.floe.svc.cluster.local:4566",
                }
            }
        },
        vantages=TWO_VANTAGES,
    )
    findings = {f.vantage: f for f in await run_probe(dns, ctx)}
    assert findings["local"].code == Code.DNS_RESOLVED and "127.0.0.1" in findings["local"].evidence["addresses"]
    assert findings["cluster"].code == Code.DNS_RESOLVED
    assert findings["cluster"].evidence["addresses"] == ["10.96.0.20"]


async def test_unobservable_vantage_gives_no_false_alarm(make_ctx: CtxFactory) -> None:
    ctx = make_ctx(
        "s3",
        {"api": {"urls": {"cluster": "http://floe-infra-localstack:4566"}}},
        vantages={"local": {}, "cluster": {"resolver": "system"}},
    )  # not our vantage: not ours to query
    assert await run_probe(dns, ctx) == []


async def test_unresolvable_then_follow_up_names_the_vantage_mismatch(make_ctx: CtxFactory) -> None:
    vantages = {"local": {"resolver": "hosts", "hosts": {}}, "cluster": TWO_VANTAGES["cluster"]}
    ctx = make_ctx("s3", {"api": {"urls": {"local": "http://floe-infra-localstack:4566"}}}, vantages=vantages)
    [failure] = await run_probe(dns, ctx)
    assert (failure.status, failure.code, failure.subject) == (
        Status.FAIL,
        Code.DNS_UNRESOLVABLE,
        "floe-infra-localstack",
    )
    assert resolve_everywhere.triggered_by(failure)
    [mismatch] = await run_probe(resolve_everywhere, ctx.for_check("resolve_everywhere"), failure)
    assert mismatch.code == Code.DNS_VANTAGE_MISMATCH
    assert mismatch.evidence["resolves_in"] == ["cluster"] and mismatch.evidence["fails_in"] == ["local"]
    assert mismatch.follow_up_of == failure.key


async def test_follow_up_is_silent_when_nothing_else_is_observable(make_ctx: CtxFactory) -> None:
    vantages = {"local": {"resolver": "hosts", "hosts": {}}, "cluster": {"resolver": "none"}}
    ctx = make_ctx("s3", {"api": {"urls": {"local": "http://nowhere:1"}}}, vantages=vantages)
    [failure] = await run_probe(dns, ctx)
    assert await run_probe(resolve_everywhere, ctx, failure) == []
