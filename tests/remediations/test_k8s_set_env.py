"""k8s.set_env against the no-telemetry lab: the configure-telemetry playbook's parameters filled from the
emitters probe's cause, a plan with platform.yaml's values that changes nothing, a run that patches only those
variables and waits for the rollout, the emitters probe green again, and a second plan that is empty."""

from __future__ import annotations

from typing import Any

import pytest

from floe_agents.findings import Status
from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.probes.emitters import emitters
from floe_agents.remediations._kube import Kube
from floe_agents.remediations.k8s_set_env import spec as set_env
from tests.remediations.conftest import FillStep
from tests.support.lab import NS, LabHandle, findings_of, probe_findings

pytestmark = [
    pytest.mark.lab,
    pytest.mark.anyio,
    pytest.mark.parametrize("lab", ["no-telemetry"], indirect=True),
    pytest.mark.timeout(900),  # the module's lab comes up and down inside its tests' setup and teardown
]


async def test_gives_the_user_code_the_platforms_telemetry_settings(
    lab: LabHandle, heal_ctx: HealContext, fill_step: FillStep
) -> None:
    before = await probe_findings(lab, emitters)
    cause = next(f for f in findings_of(before, "emitters") if f.code == "emitters.otlp_not_configured")
    params = set_env.parse(fill_step("configure-telemetry", 0, cause.evidence))
    name = str(cause.evidence["deployment"])
    assert (params.workload, params.telemetry) == (name, True)
    kube = Kube(heal_ctx)
    w = await kube.workload("Deployment", NS, name)
    assert w is not None
    env_before = [e.model_dump() for c in w.spec.template.spec.containers for e in c.env]

    [step] = await set_env.plan(heal_ctx, params)
    assert (step.action.verb, step.action.target) == ("patch", f"Deployment {NS}/{name}")
    body: Any = step.action.body
    [container] = body["spec"]["template"]["spec"]["containers"]
    assert {e["name"]: e["value"] for e in container["env"]} == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://floe-infra-jaeger-collector:4317",
        "OTEL_SERVICE_NAME": "floe-k8s-local",  # platform.yaml's service.name
        "OPENLINEAGE_URL": "http://floe-infra-marquez:5000",  # the client appends /api/v1/lineage itself
    }
    assert "OTEL_EXPORTER_OTLP_ENDPOINT-" in str(step.action.undo)  # undo: unset what was not there
    unchanged = await kube.workload("Deployment", NS, name)
    assert unchanged is not None
    assert [e.model_dump() for c in unchanged.spec.template.spec.containers for e in c.env] == env_before

    change = await step.run()
    assert change.before == {container["name"]: dict.fromkeys(["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME",
                                                               "OPENLINEAGE_URL"])}  # fmt: skip
    patched = await kube.workload("Deployment", NS, name)
    assert patched is not None
    env_after = [e.model_dump() for c in patched.spec.template.spec.containers for e in c.env]
    assert env_after[: len(env_before)] == env_before  # nothing else touched
    after = await probe_findings(lab, emitters)
    assert {f.status for f in findings_of(after, "emitters")} == {Status.OK}  # the fault is gone
    assert await set_env.plan(heal_ctx, params) == ()

    # An explicit value the workload already holds plans nothing; an unknown container is an error.
    other = params.model_copy(update={"telemetry": False, "env": {"OTEL_SERVICE_NAME": "floe-k8s-local"}})
    assert await set_env.plan(heal_ctx, other) == ()
    with pytest.raises(RemediationError, match="no container"):
        await set_env.plan(heal_ctx, params.model_copy(update={"containers": ("nope",)}))
