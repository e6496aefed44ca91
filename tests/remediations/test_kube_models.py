"""The pure rules the Kubernetes remediations decide by (no server): what a pod spec references, when a rollout
is done, which pods still run without a changed Secret, and the telemetry values platform.yaml asks for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from floe_agents.config import PlatformConfig, load_targets
from floe_agents.declarations import Declarations
from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.redact import Redactor
from floe_agents.remediations._kube_models import Pod, PodSpec, Workload, later, references, rollout_pending
from floe_agents.remediations.k8s_rollout_restart import _why_stale
from floe_agents.remediations.k8s_set_env import platform_env


def test_references_cover_env_env_from_and_volumes() -> None:
    spec = PodSpec.model_validate({
        "initContainers": [{"name": "init", "envFrom": [{"secretRef": {"name": "s-init"}}]}],
        "containers": [{"name": "c", "env": [
            {"name": "A", "value": "x"},
            {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s-env", "key": "k"}}},
            {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "cm-env", "key": "k"}}},
        ], "envFrom": [{"configMapRef": {"name": "cm-from"}}]}],
        "volumes": [{"name": "v1", "secret": {"secretName": "s-vol"}}, {"name": "v2", "configMap": {"name": "cm-vol"}},
                    {"name": "v3", "projected": {"sources": [{"secret": {"name": "s-proj"}}]}}],
    })  # fmt: skip
    assert references(spec) == {("Secret", "s-init"), ("Secret", "s-env"), ("ConfigMap", "cm-env"),
                                ("ConfigMap", "cm-from"), ("Secret", "s-vol"), ("ConfigMap", "cm-vol"),
                                ("Secret", "s-proj")}  # fmt: skip


def _deployment(gen: int, **status: int) -> Workload:
    return Workload.model_validate({"metadata": {"name": "d", "generation": gen}, "spec": {"replicas": 1},
                                    "status": status})  # fmt: skip


@pytest.mark.parametrize(
    ("status", "pending"),
    [
        ({"observedGeneration": 1}, "has not seen"),
        ({"observedGeneration": 2, "replicas": 1}, "0 of 1 replicas updated"),
        ({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1}, "old replica"),
        ({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1}, "0 of 1 replicas ready"),
        ({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1},
         None),
    ],
)  # fmt: skip
def test_rollout_is_done_as_kubectl_rollout_status_says(status: dict[str, int], pending: str | None) -> None:
    got = rollout_pending(_deployment(2, **status))
    assert got is None if pending is None else pending in str(got)


def _pod(state: dict[str, Any], ready: bool) -> Pod:
    env = [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "pg", "key": "p"}}}]
    status = {"containerStatuses": [{"name": "c", "ready": ready, "state": state}]}
    return Pod.model_validate({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "env": env}]},
                               "status": status})  # fmt: skip


def test_a_pod_is_stale_when_older_than_the_change_or_stuck_on_it() -> None:
    changed = later("2026-12-04T20:00:05Z", "2026-12-04T20:00:01Z")
    assert changed == datetime(2026, 12, 4, 20, 0, 5, tzinfo=UTC)
    older = _pod({"running": {"startedAt": "2026-12-04T20:00:04Z"}}, ready=True)
    same_second = _pod({"running": {"startedAt": "2026-12-04T20:00:05Z"}}, ready=True)
    stuck = _pod({"waiting": {"reason": "CreateContainerConfigError", "message": 'secret "pg" not found'}}, False)
    assert "started before Secret pg" in str(_why_stale(older, "Secret", "pg", changed))
    assert _why_stale(same_second, "Secret", "pg", changed) is None  # seconds resolution: not provably older
    assert "CreateContainerConfigError" in str(_why_stale(stuck, "Secret", "pg", None))
    assert _why_stale(older, "Secret", "other", changed) is None  # does not read it
    assert _why_stale(older, "ConfigMap", "pg", changed) is None


def _ctx(tmp_path: Any, observability: dict[str, Any]) -> HealContext:
    (tmp_path / "targets.yaml").write_text("namespace: floe\n")
    platform = PlatformConfig.model_validate({"observability": observability})
    return HealContext(targets=load_targets(tmp_path / "targets.yaml"), http=httpx.AsyncClient(),
                       redactor=Redactor.of([]), declarations=Declarations(), platform=platform)  # fmt: skip


def test_platform_env_is_what_platform_yaml_asks_for(tmp_path: Any) -> None:
    obs = {"otlp_endpoint": "http://otel:4317", "lineage_endpoint": "http://marquez:5000/api/v1/lineage/",
           "attributes": {"service.name": "svc", "openlineage.namespace": "ns"}}  # fmt: skip
    assert platform_env(_ctx(tmp_path, obs)) == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317",
        "OTEL_SERVICE_NAME": "svc",
        "OPENLINEAGE_URL": "http://marquez:5000",  # OpenLineage's client appends /api/v1/lineage
        "OPENLINEAGE_NAMESPACE": "ns",
    }
    assert platform_env(_ctx(tmp_path, {**obs, "traces": False})) == {
        "OPENLINEAGE_URL": "http://marquez:5000",
        "OPENLINEAGE_NAMESPACE": "ns",
    }
    with pytest.raises(RemediationError, match="asks for no telemetry"):
        platform_env(_ctx(tmp_path, {"traces": True, "lineage": True}))
