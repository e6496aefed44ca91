"""k8s.fix_endpoint_env: which endpoint and which values it picks (no lab), and against the seed lab: the
fix-workload-endpoints playbook's parameters filled from the endpoints probe's cause (the polaris-init hook Job's
STORAGE_ENDPOINT names a host that is no Service), a plan that re-creates the finished Job and changes nothing, a
run after which the Job was created again and Completed with platform.yaml's endpoint, the probe no longer
naming that env, and a second plan that is empty; then a Deployment with the wrong URL gets a patch of only that
variable and its rollout."""

from __future__ import annotations

from typing import Any

import pytest

from floe_agents.config.platform import StorageProfile
from floe_agents.findings import Status
from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.probes.endpoints import endpoints
from floe_agents.remediations._kube import Json, Kube
from floe_agents.remediations._kube_jobs import recreated_job
from floe_agents.remediations.k8s_fix_endpoint_env import replace_url, right_endpoint
from floe_agents.remediations.k8s_fix_endpoint_env import spec as fix_env
from tests.remediations.conftest import FillStep
from tests.support.lab import NS, LabHandle, findings_of, probe_findings

WRONG, RIGHT = "http://localstack:4566", "http://floe-infra-localstack:4566"


def _store(endpoint: str | None, bucket: str = "b") -> StorageProfile:
    return StorageProfile(endpoint=endpoint, bucket=bucket)


def test_the_right_endpoint_is_platform_yamls_on_the_wrong_urls_port() -> None:
    assert right_endpoint({"a": _store(RIGHT + "/"), "b": _store(RIGHT), "c": _store(None)}, WRONG) == RIGHT
    two = {"s3": _store("http://s3:4566"), "minio": _store("http://minio:9000")}
    assert right_endpoint(two, "http://localhost:9000") == "http://minio:9000"
    with pytest.raises(RemediationError, match="cannot tell which"):
        right_endpoint(two, "http://localhost:80")
    with pytest.raises(RemediationError, match="no endpoint"):
        right_endpoint({"a": _store(None)}, WRONG)


def test_only_the_wrong_url_or_a_url_under_it_is_replaced() -> None:
    assert replace_url(WRONG, WRONG, RIGHT) == RIGHT
    assert replace_url("HTTP://LocalStack:4566/bucket?x=1", WRONG + "/", RIGHT) == RIGHT + "/bucket?x=1"
    assert replace_url("http://localstack:45667", WRONG, RIGHT) is None  # another port that begins the same
    assert replace_url("http://localstack.example:4566", WRONG, RIGHT) is None
    assert replace_url("http://localstack:4566/a", WRONG + "/b", RIGHT) is None
    assert replace_url("s3://localstack:4566", WRONG, RIGHT) is None


def test_a_job_is_created_again_without_what_the_server_and_controller_generated() -> None:
    uid = "0f9c"
    gen = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "init",
           "controller-uid": uid, "job-name": "init"}  # fmt: skip
    raw: Json = {
        "metadata": {"name": "init", "namespace": "ns", "uid": uid, "resourceVersion": "7", "generation": 1,
                     "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{}], "labels": {"app": "i"},
                     "annotations": {"helm.sh/hook": "post-install"}},
        "spec": {"backoffLimit": 3, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
                 "template": {"metadata": {"labels": {"app": "i", **gen}},
                              "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "env": [
                                  {"name": "STORAGE_ENDPOINT", "value": WRONG}, {"name": "OTHER", "value": "x"}]}]}}},
        "status": {"succeeded": 1},
    }  # fmt: skip

    def fix(pod_spec: Json) -> None:
        pod_spec["containers"][0]["env"][0]["value"] = RIGHT

    job = recreated_job(raw, fix)
    assert job["metadata"] == {"name": "init", "namespace": "ns", "labels": {"app": "i"},
                               "annotations": {"helm.sh/hook": "post-install"}}  # fmt: skip
    assert "status" not in job and "selector" not in job["spec"] and job["spec"]["backoffLimit"] == 3
    template = job["spec"]["template"]
    assert template["metadata"]["labels"] == {"app": "i"}
    assert template["spec"]["containers"][0]["env"] == [{"name": "STORAGE_ENDPOINT", "value": RIGHT},
                                                        {"name": "OTHER", "value": "x"}]  # fmt: skip
    assert raw["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == WRONG  # the input is untouched
    manual = {**raw, "spec": {**raw["spec"], "manualSelector": True}}
    assert recreated_job(manual)["spec"]["selector"] == raw["spec"]["selector"]


def _env(obj: Json) -> dict[str, Any]:
    containers = obj["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value") for c in containers for e in c.get("env") or []}


def _env_findings(inv: Any) -> list[Any]:
    return [f for f in findings_of(inv, "endpoints") if " env " in str(f.evidence.get("where"))]


SEED_LAB = pytest.mark.parametrize("lab", ["seed"], indirect=True)
LAB_TIMEOUT = pytest.mark.timeout(900)  # the module's lab comes up and down inside its tests' setup and teardown


@pytest.mark.lab
@pytest.mark.anyio
@SEED_LAB
@LAB_TIMEOUT
async def test_recreates_the_hook_job_with_platform_yamls_endpoint(
    lab: LabHandle, heal_ctx: HealContext, fill_step: FillStep
) -> None:
    before = await probe_findings(lab, endpoints)
    cause = next(f for f in _env_findings(before) if f.code == "endpoints.host_not_a_service")
    assert "env STORAGE_ENDPOINT" in str(cause.evidence["where"])
    params = fix_env.parse(fill_step("fix-workload-endpoints", 0, cause.evidence))
    assert (params.namespace, params.url) == (NS, WRONG)
    kube = Kube(heal_ctx)
    name = "floe-infra-polaris-init"

    async def read() -> Json:
        return await kube.call(kube.batch.read_namespaced_job, name, NS, verb="get", what="Job")

    old = await read()
    [step] = await fix_env.plan(heal_ctx, params)
    assert (step.action.verb, step.action.target) == ("replace", f"Job {NS}/{name}")
    assert "helm upgrade" in step.action.summary and "chart value" in step.action.summary
    body: Any = step.action.body
    assert _env(body)["STORAGE_ENDPOINT"] == RIGHT
    assert "selector" not in body["spec"] and "uid" not in body["metadata"]
    assert not any("controller-uid" in k for k in body["spec"]["template"]["metadata"].get("labels") or {})
    unchanged = await read()  # the plan wrote nothing
    assert unchanged["metadata"]["uid"] == old["metadata"]["uid"] and _env(unchanged) == _env(old)

    change = await step.run()
    assert change.before == {name: {"STORAGE_ENDPOINT": WRONG}}
    new = await read()
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in new["status"]["conditions"])
    assert {k: v for k, v in _env(new).items() if k != "STORAGE_ENDPOINT"} == {
        k: v for k, v in _env(old).items() if k != "STORAGE_ENDPOINT"
    }  # nothing else changed
    assert _env(new)["STORAGE_ENDPOINT"] == RIGHT
    after = await probe_findings(lab, endpoints)
    assert not [f for f in _env_findings(after) if f.evidence.get("url") == WRONG]
    assert {f.status for f in _env_findings(after) if "STORAGE_ENDPOINT" in str(f.evidence["where"])} == {Status.OK}
    assert await fix_env.plan(heal_ctx, params) == ()


@pytest.mark.lab
@pytest.mark.anyio
@SEED_LAB
@LAB_TIMEOUT
async def test_patches_only_the_variable_on_a_deployment(lab: LabHandle, heal_ctx: HealContext) -> None:
    kube = Kube(heal_ctx)
    name = "floe-dagster-dagster-user-deployments-floe-demo"
    read, _, patch = kube.workload_api("Deployment")
    wrong = {"spec": {"template": {"spec": {"containers": [
        {"name": "floe-demo", "env": [{"name": "S3_ENDPOINT_URL", "value": WRONG + "/"}]}]}}}}  # fmt: skip
    await kube.call(patch, name, NS, wrong, verb="patch", what="Deployment")
    old = await kube.call(read, name, NS, verb="get", what="Deployment")
    storage = heal_ctx.platform.model_dump(mode="json")["storage"] if heal_ctx.platform else {}
    params = fix_env.parse({"namespace": NS, "url": WRONG, "storage": storage, "wait_seconds": 180})

    [step] = await fix_env.plan(heal_ctx, params)
    assert (step.action.verb, step.action.target) == ("patch", f"Deployment {NS}/{name}")
    assert step.action.body == {"spec": {"template": {"spec": {"containers": [
        {"name": "floe-demo", "env": [{"name": "S3_ENDPOINT_URL", "value": RIGHT + "/"}]}]}}}}  # fmt: skip
    change = await step.run()
    assert change.after == {"floe-demo": {"S3_ENDPOINT_URL": RIGHT + "/"}}
    new = await kube.call(read, name, NS, verb="get", what="Deployment")
    assert _env(new) == {**_env(old), "S3_ENDPOINT_URL": RIGHT + "/"}
    assert new["status"].get("updatedReplicas") == new["spec"]["replicas"]  # the rollout was waited for
    assert await fix_env.plan(heal_ctx, params) == ()
