"""kubernetes probe: against the lab's API stand-in (healthy and the Kubernetes-visible faults), a fake API
serving hand-written objects (the states the lab does not produce: crash loops, image pulls, RBAC), and bad
servers (every bad answer is one finding naming the reason)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from floe_agents.findings import Finding, Status
from floe_agents.probes import _kube_api as k8s_api
from floe_agents.probes.kubernetes import CODES, component_of, kubernetes
from tests.support.kube import fake_apiserver, kube_ctx, meta, pod
from tests.support.lab import LabHandle, findings_of, probe_findings
from tests.support.net import bad_server, closed_port
from tests.support.probes import grouped_by_code, run_probe

SECRET = "floe-dagster-postgresql-secret"


def codes(findings: list[Finding]) -> dict[str, list[Finding]]:
    return grouped_by_code(findings, CODES)


@pytest.mark.lab
@pytest.mark.parametrize(
    "lab", ["healthy", "missing-secret", "unmigrated-schema", "s3-endpoint-mismatch", "seed"], indirect=True
)
async def test_lab(lab: LabHandle) -> None:
    found = findings_of(await probe_findings(lab, kubernetes, only="kubernetes"), "kubernetes")
    by = codes(found)
    scenario, faults = lab.info["scenario"], set(lab.info["faults"])
    assert {f.component for f in by["k8s.ok"]} >= {"kubernetes", "polaris", "jaeger", "marquez", "cube"}
    if scenario == "healthy":
        assert [f for f in found if f.is_problem] == []
        assert {f.component for f in by["k8s.ok"]} >= {"postgres", "s3", "iceberg", "dagster-webserver"}
        return
    if "missing-secret" in faults:
        [missing] = by["k8s.secret_missing"]  # one finding per Secret, however many pods reference it
        ev = missing.evidence
        assert (ev["secret_name"], ev["key"], ev["env_var"]) == (SECRET, "postgresql-password", "DAGSTER_PG_PASSWORD")
        assert ev["exists"] is False
        assert {"dagster-webserver", "dagster-daemon"} <= set(ev["components"])
        assert missing.component == ev["components"][0]
        for prefix in ("floe-dagster-dagster-webserver-", "floe-dagster-daemon-"):
            assert any(p.startswith(prefix) for p in ev["referenced_by"])
        config = {f.component: f for f in by["k8s.pod_config_error"]}
        assert {"dagster-webserver", "dagster-daemon"} <= set(config)
        assert config["dagster-webserver"].evidence["message"] == f'secret "{SECRET}" not found'
        assert {f.component for f in by["k8s.service_no_ready_endpoints"]} == {"dagster-webserver"}
        # The kubelet's Warning events about those pods are evidence of the pod findings, not findings of their own.
        events = config["dagster-webserver"].evidence["warning_events"]
        assert any(e["reason"] == "Failed" and SECRET in e["message"] for e in events)
        assert not any(SECRET in f.evidence["message"] for f in by.get("k8s.warning_event", []))
    else:
        assert "k8s.secret_missing" not in by
    if "unmigrated-schema" in faults:
        [absent] = by["k8s.hook_job_absent"]
        assert (absent.component, absent.status, absent.evidence["expected_role"]) == (
            "postgres",
            Status.WARN,
            "migrate",
        )
    elif "missing-secret" in faults:  # the migrate Job exists but its pod cannot start either
        [stuck] = by["k8s.hook_job_incomplete"]
        assert (stuck.component, stuck.evidence["job"]) == (
            "postgres",
            "floe-dagster-dagster-webserver-instance-migrate",
        )
    if "s3-endpoint-mismatch" in faults:
        [failed] = by["k8s.hook_job_failed"]
        assert (failed.component, failed.evidence["job"]) == ("iceberg", "floe-infra-seed-data")
        assert failed.evidence["reason"] == "BackoffLimitExceeded"
        assert failed.evidence["pods"][0]["state"]["terminated"]["exitCode"] == 1
        assert "log" in failed.evidence  # the lab's log endpoint may be empty; the key is always there
    else:
        assert "k8s.hook_job_failed" not in by


# --- a fake API server with hand-written objects (tests/support/kube.py) ----------------------------------


RUNNING = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
FAILED = {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}


def cluster() -> dict[str, list[dict[str, Any]]]:
    """Every state the lab does not produce, one per component."""
    return {
        "pods": [
            pod("floe-infra-polaris-1", "polaris", {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                restarts=7),
            pod("floe-infra-marquez-1", "marquez", {"waiting": {"reason": "ImagePullBackOff", "message": "no image"}}),
            pod("floe-infra-jaeger-1", "jaeger", RUNNING, restarts=4),
            pod("floe-cube-api-1", "api", RUNNING, env=[
                {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cube-config", "key": "absent"}}},
                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "nope"}}},
                {"name": "C", "valueFrom": {"secretKeyRef": {"name": "ghost", "key": "k", "optional": True}}},
            ]),
            pod("floe-infra-postgresql-0", "postgresql-subchart", RUNNING, ready=False),
            pod("floe-infra-seed-data-x", "seed-data", {"terminated": {"exitCode": 1, "reason": "Error"}},
                phase="Failed", owner="floe-infra-seed-data"),
        ],
        "secrets": [{"metadata": meta("creds", "credentials"), "data": {"other": "c2VjcmV0"}}],
        "configmaps": [{"metadata": meta("cube-config", "api"), "data": {"present": "1"}}],
        "services": [{"metadata": meta("floe-infra-localstack", "localstack"),
                      "spec": {"selector": {"app.kubernetes.io/component": "localstack"}, "ports": [{"port": 4566}]}}],
        "endpoints": [],
        "jobs": [
            {"metadata": meta("floe-infra-seed-data", "seed-data", annotations={"helm.sh/hook": "post-install"}),
             "status": {"failed": 1, "conditions": [FAILED]}},
        ],
        "events": [
            {"type": "Warning", "reason": "BackOff", "message": "restarting", "count": 9,
             "involvedObject": {"kind": "Pod", "name": "floe-infra-polaris-1"}},
            {"type": "Warning", "reason": "BackOff", "message": "old",
             "involvedObject": {"kind": "Pod", "name": "gone"}},
            {"type": "Normal", "reason": "Pulled", "involvedObject": {"kind": "Pod", "name": "floe-infra-polaris-1"}},
            {"type": "Warning", "reason": "Unhealthy", "lastTimestamp": "2020-01-01T00:00:00Z",
             "involvedObject": {"kind": "Pod", "name": "floe-infra-polaris-1"}},
            {"type": "Warning", "reason": "FailedToUpdateEndpoint", "message": "conflict", "count": 2,
             "involvedObject": {"kind": "Endpoints", "name": "floe-infra-marquez"}},
        ],
    }  # fmt: skip


async def test_states_the_lab_does_not_produce() -> None:
    async with fake_apiserver(cluster()) as url, kube_ctx(url) as ctx:
        by = codes(await run_probe(kubernetes, ctx))
    one = {code: {(f.component, f.status) for f in fs} for code, fs in by.items()}
    assert one["k8s.pod_crashloop"] == {("polaris", Status.FAIL)}
    assert by["k8s.pod_crashloop"][0].evidence["last_exit"] == {"exitCode": 137, "reason": "OOMKilled"}
    assert one["k8s.pod_image_pull"] == {("marquez", Status.FAIL)}
    assert one["k8s.pod_restarting"] == {("jaeger", Status.WARN)}
    assert one["k8s.pod_not_ready"] == {("postgres", Status.WARN)}
    assert one["k8s.configmap_key_missing"] == {("cube", Status.FAIL)}
    [key] = by["k8s.secret_key_missing"]
    assert (key.component, key.evidence["secret_name"], key.evidence["key"], key.evidence["env_var"]) == (
        "cube", "creds", "nope", "B")  # fmt: skip
    assert "k8s.secret_missing" not in by  # the optional reference to "ghost" is not a problem
    [svc] = by["k8s.service_no_ready_endpoints"]
    assert (svc.component, svc.evidence["selected_pods"], svc.evidence["endpoints_object"]) == ("s3", [], False)
    [job] = by["k8s.hook_job_failed"]
    assert (job.component, job.evidence["log"]) == ("iceberg", "log of floe-infra-seed-data-x\nboom\n")
    assert "k8s.pod_failed" not in by  # a Job's failed pod is the Job's finding
    # The Normal one, the old one and the one about a gone pod are left out; the one about the crash-looping pod
    # is that finding's evidence; the one about an object with no finding of its own stands alone.
    [crash] = by["k8s.pod_crashloop"]
    assert [(e["reason"], e["count"]) for e in crash.evidence["warning_events"]] == [("BackOff", 9)]
    [event] = by["k8s.warning_event"]
    assert (event.component, event.evidence["reason"], event.evidence["count"]) == (
        "marquez",
        "FailedToUpdateEndpoint",
        2,
    )
    # a deployed polaris without its init Jobs, and no hook Job kept: absence cannot be told from cleanup
    absent = {f.evidence["expected_role"]: f.status for f in by["k8s.hook_job_absent"]}
    assert absent == {"polaris-init": Status.WARN}  # seed-data (a hook) is kept, so absence means it never ran
    assert {f.component for f in by["k8s.ok"]} == {"kubernetes"}


async def test_absent_init_jobs_are_unknown_when_no_hook_job_is_kept() -> None:
    objects = {"pods": [pod("floe-infra-polaris-1", "polaris", RUNNING)], "jobs": []}
    async with fake_apiserver(objects) as url, kube_ctx(url) as ctx:
        by = codes(await run_probe(kubernetes, ctx))
    assert {f.evidence["expected_role"]: f.status for f in by["k8s.hook_job_absent"]} == {
        "polaris-init": Status.UNKNOWN, "seed-data": Status.UNKNOWN}  # fmt: skip


async def test_an_event_about_an_earlier_job_of_the_same_name_is_history() -> None:
    """A hook Job run again (deleted and created anew, as helm upgrade and heal do) keeps its name; the Warning its
    failed incarnation left is about another uid and says nothing about the Job that Completed since."""
    job = meta("floe-infra-seed-data", "seed-data", annotations={"helm.sh/hook": "post-install"})
    done = {"type": "Complete", "status": "True"}
    objects = {
        "pods": [pod("floe-infra-polaris-1", "polaris", RUNNING)],
        "jobs": [{"metadata": job, "status": {"succeeded": 1, "conditions": [done]}}],
        "events": [
            {"type": "Warning", "reason": "BackoffLimitExceeded", "message": "earlier run",
             "involvedObject": {"kind": "Job", "name": job["name"], "uid": "uid-of-the-failed-run"}},
            {"type": "Warning", "reason": "Throttled", "message": "this run",
             "involvedObject": {"kind": "Job", "name": job["name"], "uid": job["uid"]}},
        ],
    }  # fmt: skip
    async with fake_apiserver(objects) as url, kube_ctx(url) as ctx:
        by = codes(await run_probe(kubernetes, ctx))
    assert [f.evidence["reason"] for f in by["k8s.warning_event"]] == ["Throttled"]


async def test_a_warning_from_before_an_object_settled_is_history() -> None:
    """A pod that waited for a Secret and then started, and a Job that completed since: the Warnings from while
    they waited are about a state they have left; one that came after the pod started still stands."""
    now = datetime.now(UTC)

    def at(seconds_ago: int) -> str:
        return (now - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")

    job = meta("floe-dagster-migrate", "migrate")
    waited = {"type": "Warning", "reason": "Failed", "message": 'secret "s" not found', "count": 31}
    objects: dict[str, list[dict[str, Any]]] = {
        "pods": [pod("floe-dagster-web-1", "dagster-webserver", {"running": {"startedAt": at(60)}})],
        "jobs": [{"metadata": job, "status": {"succeeded": 1, "completionTime": at(30),
                                              "conditions": [{"type": "Complete", "status": "True"}]}}],
        "events": [
            {**waited, "lastTimestamp": at(90), "involvedObject": {"kind": "Pod", "name": "floe-dagster-web-1"}},
            {**waited, "lastTimestamp": at(45), "involvedObject": {"kind": "Job", "name": job["name"]}},
            {"type": "Warning", "reason": "Unhealthy", "message": "probe failed", "lastTimestamp": at(10),
             "involvedObject": {"kind": "Pod", "name": "floe-dagster-web-1"}},
        ],
    }  # fmt: skip
    async with fake_apiserver(objects) as url, kube_ctx(url) as ctx:
        by = codes(await run_probe(kubernetes, ctx))
    assert [(f.evidence["involved_object"]["kind"], f.evidence["reason"]) for f in by["k8s.warning_event"]] == [
        ("Pod", "Unhealthy")
    ]


async def test_a_forbidden_list_is_one_unknown_and_the_rest_still_runs() -> None:
    async with fake_apiserver(cluster(), status={"secrets": 403}) as url, kube_ctx(url) as ctx:
        by = codes(await run_probe(kubernetes, ctx))
    [denied] = by["k8s.api_unauthorized"]
    assert (denied.status, denied.evidence["resource"], denied.evidence["status"]) == (Status.UNKNOWN, "secrets", 403)
    assert "k8s.secret_key_missing" not in by  # cannot be judged without the Secrets
    assert "k8s.configmap_key_missing" in by and "k8s.pod_crashloop" in by


@pytest.mark.parametrize(
    ("kind", "code", "error"),
    [
        ("error", "k8s.api_bad_response", None),
        ("notjson", "k8s.api_bad_response", None),
        ("ok-json", "k8s.api_bad_response", None),
        ("truncated", "k8s.api_bad_response", "truncated"),
        ("auth", "k8s.api_unauthorized", None),
        ("forbidden", "k8s.api_unauthorized", None),
        ("slow", "k8s.api_unreachable", "timeout"),
    ],
)
async def test_bad_api_answers(kind: str, code: str, error: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(k8s_api, "REQUEST_TIMEOUT_S", 0.3)
    async with bad_server() as base, kube_ctx(f"{base}/{kind}") as ctx:
        [finding] = await run_probe(kubernetes, ctx)
    assert (finding.code, finding.status, finding.evidence["resource"]) == (code, Status.UNKNOWN, "pods")
    assert finding.evidence["reason"]
    if error:
        assert finding.evidence["error"] == error


async def test_closed_port_and_tls_mismatch_are_unreachable() -> None:
    async with kube_ctx(f"http://127.0.0.1:{closed_port()}") as ctx:
        [closed] = await run_probe(kubernetes, ctx)
    async with bad_server() as base, kube_ctx(base.replace("http://", "https://")) as ctx:
        [tls] = await run_probe(kubernetes, ctx)
    assert (closed.code, closed.evidence["error"]) == ("k8s.api_unreachable", "connect")
    assert (tls.code, tls.evidence["error"]) == ("k8s.api_unreachable", "tls")


async def test_no_kubernetes_api() -> None:
    async with kube_ctx(None) as ctx:
        [none] = await run_probe(kubernetes, ctx)
    async with kube_ctx(None, kube_error="cannot configure the Kubernetes client (kubeconfig): no file") as ctx:
        [broken] = await run_probe(kubernetes, ctx)
    assert (none.code, none.status, none.evidence["mode"]) == ("k8s.not_configured", Status.UNKNOWN, "none")
    assert "no file" in broken.evidence["reason"]


@pytest.mark.parametrize(
    ("labels", "name", "component"),
    [
        ({"app.kubernetes.io/component": "postgresql-subchart"}, "floe-infra-postgresql-0", "postgres"),
        ({"app.kubernetes.io/component": "migrate"}, "floe-dagster-dagster-webserver-instance-migrate-x", "postgres"),
        ({"app.kubernetes.io/component": "user-deployments", "deployment": "floe-demo"}, "x", "dagster-user-code"),
        ({"app.kubernetes.io/name": "cube", "app.kubernetes.io/component": "api"}, "floe-cube-api-1", "cube"),
        ({}, "floe-platform-polaris-bootstrap-abc", "polaris"),
        ({}, "floe-cube-refresh-worker-1", "cube"),
        ({}, "coredns-1", "kubernetes"),
    ],
)
def test_component_of(labels: dict[str, str], name: str, component: str) -> None:
    assert component_of(labels, name) == component
