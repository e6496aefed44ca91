"""kubernetes probe: a platform Deployment or StatefulSet scaled to 0 replicas is a failure on its component.

With no pod there is no crash to read and the Dagster daemon has no port to refuse: only the workload says it. A
workload that is not the platform's (no known component) is left alone, as is one at 1 replica or with replicas
unset (the API's default, 1)."""

from __future__ import annotations

from typing import Any

from floe_agents.findings import Status
from floe_agents.probes.kubernetes import CODES, kubernetes
from tests.support.kube import fake_apiserver, kube_ctx, meta
from tests.support.probes import grouped_by_code, run_probe

CODE = "k8s.workload_scaled_to_zero"


def workload(name: str, component: str, replicas: int | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"template": {"spec": {"containers": [{"name": "main"}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"metadata": meta(name, component), "spec": spec}


async def test_a_platform_workload_at_zero_replicas_is_a_failure_on_its_component() -> None:
    objects = {
        "deployments": [workload("floe-dagster-daemon", "dagster-daemon", 0), workload("floe-cube-api", "api", 1),
                        workload("floe-infra-marquez", "marquez", None), workload("batch-reports", "reports", 0)],
        "statefulsets": [workload("floe-infra-postgresql", "postgresql-subchart", 0)],
    }  # fmt: skip
    async with fake_apiserver(objects) as url, kube_ctx(url) as ctx:
        by = grouped_by_code(await run_probe(kubernetes, ctx), CODES)
    got = {(f.component, f.subject, f.status) for f in by[CODE]}
    assert got == {
        ("dagster-daemon", "deployment/floe-dagster-daemon", Status.FAIL),
        ("postgres", "statefulset/floe-infra-postgresql", Status.FAIL),
    }
    daemon = next(f for f in by[CODE] if f.component == "dagster-daemon")
    assert daemon.evidence["workload"] == "deployment/floe-dagster-daemon"
    assert daemon.summary == "deployment/floe-dagster-daemon is scaled to 0 replicas: no pod runs dagster-daemon"
