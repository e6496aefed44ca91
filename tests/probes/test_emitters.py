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


VALUES = {  # what a correctly configured workload sets (the collector by its full in-cluster name is the same one)
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://floe-infra-jaeger-collector.floe.svc.cluster.local:4317",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://floe-infra-jaeger-collector:4317",
    "OPENLINEAGE_URL": "http://floe-infra-marquez:5000",
    "OTEL_SERVICE_NAME": "floe-k8s-local",
}


def deployment(
    name: str, env: list[str], *, env_from: bool = False, role: str = "user-deployments", **values: str
) -> dict[str, Any]:
    pairs = {n: VALUES.get(n, "x") for n in env} | values
    container: dict[str, Any] = {"name": "user-code", "env": [{"name": n, "value": v} for n, v in pairs.items()]}
    if env_from:
        container["envFrom"] = [{"configMapRef": {"name": "otel"}}]
    return {
        "metadata": meta(name, role),
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
    cube = {"floe-cube-api": {"emitters.ok"}}  # Cube sets its own telemetry env: an emitter, checked too
    if lab.info["scenario"] == "healthy":
        assert codes == {USER_CODE: {"emitters.ok"}, **cube}
    else:
        assert codes == {
            f"{USER_CODE}/OTEL_EXPORTER_OTLP_ENDPOINT": {"emitters.otlp_not_configured"},
            f"{USER_CODE}/OPENLINEAGE_URL": {"emitters.lineage_not_configured"},
            **cube,
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


async def test_what_is_set_differently_from_platform_yaml_is_a_warning_naming_both() -> None:
    """Traces under another service name, or sent to another collector, are not silence: a warning names both."""
    objects = {
        "deployments": [
            deployment(
                "renamed",
                ["OPENLINEAGE_URL"],
                OTEL_EXPORTER_OTLP_ENDPOINT=VALUES["OTEL_EXPORTER_OTLP_ENDPOINT"],
                OTEL_RESOURCE_ATTRIBUTES="team=data,service.name=floe-demo",
            ),
            deployment(
                "elsewhere",
                ["OPENLINEAGE_URL", "OTEL_SERVICE_NAME"],
                OTEL_EXPORTER_OTLP_ENDPOINT="http://otel-gateway.monitoring:4318",
            ),
        ]
    }
    async with fake_apiserver(objects) as url, kube_ctx(url, platform=platform()) as ctx:
        found = await run_probe(emitters, ctx)
    assert by_subject(found) == {
        "renamed/OTEL_SERVICE_NAME": {"emitters.service_name_mismatch"},
        "elsewhere/OTEL_EXPORTER_OTLP_ENDPOINT": {"emitters.otlp_endpoint_differs"},
    }
    ev = {f.subject: f.evidence for f in found}
    assert (ev["renamed/OTEL_SERVICE_NAME"]["emits_as"], ev["renamed/OTEL_SERVICE_NAME"]["configured_service"]) == (
        "floe-demo", "floe-k8s-local")  # fmt: skip
    assert all(f.status is Status.WARN and f.component == "dagster-user-code" for f in found)


async def test_every_workload_that_means_to_emit_is_checked_under_its_own_component() -> None:
    """Not only Dagster's user code: a workload that sets any OTEL_/OPENLINEAGE_ variable means to emit, and is
    judged under the component its labels name; one that sets none is not an emitter."""
    objects = {
        "deployments": [
            deployment("user", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OPENLINEAGE_URL"]),
            deployment("cube-api", ["OTEL_SERVICE_NAME"], role="cube"),  # names itself, sends nowhere
            deployment("quiet", [], role="marquez"),
        ],
        "statefulsets": [
            deployment(
                "daemon",
                ["OPENLINEAGE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"],
                role="dagster-daemon",
                OTEL_SERVICE_NAME="my-daemon",
            )
        ],
    }
    async with fake_apiserver(objects) as url, kube_ctx(url, platform=platform()) as ctx:
        found = await run_probe(emitters, ctx)
    assert {(f.component, f.subject, str(f.code)) for f in found} == {
        ("dagster-user-code", "user", "emitters.ok"),
        ("cube", "cube-api/OTEL_EXPORTER_OTLP_ENDPOINT", "emitters.otlp_not_configured"),
        ("cube", "cube-api/OPENLINEAGE_URL", "emitters.lineage_not_configured"),
        ("dagster-daemon", "daemon", "emitters.ok"),  # its own service name is its own business
    }


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
