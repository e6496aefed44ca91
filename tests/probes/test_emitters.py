"""emitters probe: the lab (user code with and without its telemetry settings), a fake API serving hand-written
Deployments (env set by name, by envFrom only, garbage objects), and an API that fails in every way: each gives a
finding with the reason, never a crash."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from floe_agents.config.platform import PlatformConfig
from floe_agents.findings import Finding, Status
from floe_agents.probes import _kube_api as k8s_api
from floe_agents.probes.emitters import emitters
from tests.support.kube import fake_apiserver, kube_ctx, meta
from tests.support.lab import LabHandle, findings_of, probe_findings
from tests.support.net import bad_server, closed_port
from tests.support.probes import run_probe

USER_CODE = "floe-dagster-dagster-user-deployments-floe-demo"


def platform(traces: bool = True, lineage: bool = True) -> PlatformConfig:
    return PlatformConfig.model_validate(
        {
            "observability": {
                "traces": traces,
                "lineage": lineage,
                "otlp_endpoint": "http://floe-infra-jaeger-collector:4317",
                "lineage_endpoint": "http://floe-infra-marquez:5000/api/v1/lineage",
                "attributes": {"service.name": "floe-k8s-local"},
            }
        }
    )


def deployment(name: str, env: list[str], *, env_from: bool = False) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "user-code", "env": [{"name": n, "value": "x"} for n in env]}
    if env_from:
        container["envFrom"] = [{"configMapRef": {"name": "otel"}}]
    return {
        "metadata": meta(name, "user-deployments"),
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


def by_subject(found: list[Finding]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in found:
        out.setdefault(f.subject, set()).add(str(f.code))
    return out


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy", "no-telemetry"], indirect=True)
async def test_lab(lab: LabHandle) -> None:
    codes = by_subject(findings_of(await probe_findings(lab, emitters, only="dagster-user-code"), "emitters"))
    if lab.info["scenario"] == "healthy":
        assert codes == {USER_CODE: {"emitters.ok"}}
    else:
        assert codes == {
            f"{USER_CODE}/OTEL_EXPORTER_OTLP_ENDPOINT": {"emitters.otlp_not_configured"},
            f"{USER_CODE}/OPENLINEAGE_URL": {"emitters.lineage_not_configured"},
        }


async def test_each_deployment_is_judged_on_its_own_env() -> None:
    objects = {
        "deployments": [
            deployment("both", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OPENLINEAGE_URL"]),
            deployment("traces-only", ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"], env_from=True),
            deployment("none", []),
            {"metadata": meta("garbage", "user-deployments"), "spec": "not an object"},
        ]
    }
    async with fake_apiserver(objects) as url, kube_ctx(url, platform=platform()) as ctx:
        found = await run_probe(emitters, ctx)
    otlp, lineage = "OTEL_EXPORTER_OTLP_ENDPOINT", "OPENLINEAGE_URL"
    assert by_subject(found) == {
        "both": {"emitters.ok"},
        f"traces-only/{lineage}": {"emitters.lineage_not_configured"},
        f"none/{otlp}": {"emitters.otlp_not_configured"},
        f"none/{lineage}": {"emitters.lineage_not_configured"},
        f"garbage/{otlp}": {"emitters.otlp_not_configured"},
        f"garbage/{lineage}": {"emitters.lineage_not_configured"},
    }
    [traces_only] = [f for f in found if f.subject.startswith("traces-only")]
    assert traces_only.evidence["env_from_present"] is True  # the setting may still come from a ConfigMap


async def test_only_what_the_platform_enables_is_expected() -> None:
    objects = {"deployments": [deployment("none", [])]}
    async with fake_apiserver(objects) as url, kube_ctx(url, platform=platform(traces=False)) as ctx:
        found = await run_probe(emitters, ctx)
    assert by_subject(found) == {"none/OPENLINEAGE_URL": {"emitters.lineage_not_configured"}}


async def test_no_user_deployment_and_nothing_to_compare() -> None:
    async with fake_apiserver({"deployments": []}) as url, kube_ctx(url, platform=platform()) as ctx:
        [none] = await run_probe(emitters, ctx)
        assert await run_probe(emitters, dataclasses.replace(ctx, platform=None)) == []
    assert (none.code, none.status) == ("emitters.not_observable", Status.UNKNOWN)
    async with kube_ctx(None, platform=platform()) as ctx:  # no cluster configured: not applicable
        assert await run_probe(emitters, ctx) == []


@pytest.mark.parametrize(
    ("kind", "api_code"),
    [
        ("error", "k8s.api_bad_response"),
        ("notjson", "k8s.api_bad_response"),
        ("truncated", "k8s.api_bad_response"),
        ("forbidden", "k8s.api_unauthorized"),
        ("slow", "k8s.api_unreachable"),
        ("closed", "k8s.api_unreachable"),
        ("https", "k8s.api_unreachable"),
    ],
)
async def test_a_failing_api_is_a_reason_not_a_crash(kind: str, api_code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(k8s_api, "REQUEST_TIMEOUT_S", 0.3)
    async with bad_server() as base:
        url = {
            "closed": f"http://127.0.0.1:{closed_port()}",
            "https": base.replace("http://", "https://"),
        }.get(kind, f"{base}/{kind}")
        async with kube_ctx(url, platform=platform()) as ctx:
            [finding] = await run_probe(emitters, ctx)
    assert (finding.code, finding.status, finding.evidence["api_code"]) == (
        "emitters.not_observable",
        Status.UNKNOWN,
        api_code,
    )
    assert finding.evidence["reason"]
