"""probes._kube_components: a pod's component by its labels and owners (names only as the last resort), and the
workload that runs it, as the upstream charts and Dagster's run launcher label them."""

from __future__ import annotations

from typing import Any

import pytest

from floe_agents.probes._kube_components import KNOWN, comp_of, component_of, workload_of
from floe_agents.probes._models.kube import Pod

DAGSTER = {"app.kubernetes.io/name": "dagster", "app.kubernetes.io/instance": "floe-dagster"}


def pod(name: str, labels: dict[str, str], *owners: tuple[str, str]) -> Pod:
    refs: list[dict[str, Any]] = [{"kind": kind, "name": owner, "uid": f"uid-{owner}"} for kind, owner in owners]
    return Pod.model_validate({"metadata": {"name": name, "labels": labels, "ownerReferences": refs}})


@pytest.mark.parametrize(
    ("labels", "name", "component"),
    [
        ({**DAGSTER, "component": "dagster-webserver"}, "web-abc", "dagster-webserver"),  # the Dagster chart's label
        ({**DAGSTER, "component": "dagster-daemon", "deployment": "daemon"}, "x", "dagster-daemon"),
        ({**DAGSTER, "component": "dagit"}, "x", "dagster-webserver"),  # the chart before the rename
        ({"app.kubernetes.io/component": "run_worker", "dagster/run-id": "0f1e"}, "dagster-run-0f1e-x",
         "dagster-user-code"),  # K8sRunLauncher's run worker
        ({"app.kubernetes.io/component": "step_worker"}, "dagster-step-ab12", "dagster-user-code"),
        ({"dagster/job": "demo", "dagster/run-id": "0f1e"}, "a-pipes-pod", "dagster-user-code"),
        ({"app.kubernetes.io/name": "postgresql"}, "db-0", "postgres"),  # the chart name, where no role is said
        ({"app.kubernetes.io/component": "primary", "app.kubernetes.io/name": "minio"}, "x", "s3"),
        ({"app.kubernetes.io/component": "marquez"}, "lineage-7", "marquez"),  # the labels win over the name
    ],
)  # fmt: skip
def test_labels_decide(labels: dict[str, str], name: str, component: str) -> None:
    assert component_of(labels, name) == component


def test_a_label_naming_a_component_of_the_run_is_taken_as_it_is() -> None:
    assert component_of({"app.kubernetes.io/component": "trino"}, "trino-0") == "kubernetes"
    assert component_of({"app.kubernetes.io/component": "trino"}, "trino-0", known=KNOWN | {"trino"}) == "trino"


def test_owners_come_before_the_pods_own_name() -> None:
    """Unlabelled: the owning workload's name (a ReplicaSet read as its Deployment), then the pod's."""
    migrate = pod("x-7f9c", {"job-name": "floe-dagster-dagster-webserver-instance-migrate"},
                  ("Job", "floe-dagster-dagster-webserver-instance-migrate"))  # fmt: skip
    assert comp_of(migrate) == "postgres"
    web = pod("floe-dagster-dagster-webserver-5c7967b7d6-q2x", {"pod-template-hash": "5c7967b7d6"},
              ("ReplicaSet", "floe-dagster-dagster-webserver-5c7967b7d6"))  # fmt: skip
    assert workload_of(web) == ("Deployment", "floe-dagster-dagster-webserver")
    assert comp_of(web) == "dagster-webserver"
    assert comp_of(pod("coredns-1", {})) == "kubernetes"


def test_the_workload_that_runs_a_pod() -> None:
    assert workload_of(pod("pg-0", {}, ("StatefulSet", "pg"))) == ("StatefulSet", "pg")
    assert workload_of(pod("run-x", {}, ("Job", "dagster-run-0f1e"))) == ("Job", "dagster-run-0f1e")
    assert workload_of(pod("rs-x", {}, ("ReplicaSet", "rs"))) == ("ReplicaSet", "rs")  # no template hash to strip
    assert workload_of(pod("alone", {})) == ("Pod", "alone")
