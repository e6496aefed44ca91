"""The stand-in's server-side printing (``floe_lab/kube/printers.py``, ``columns.py``, ``tables.py``): the cells
``kubectl get`` shows, computed by the apiserver's rules, and which reads are answered as a Table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from floe_lab.kube import errors
from floe_lab.kube.columns import human_duration
from floe_lab.kube.printers import printer_for
from floe_lab.kube.resources import find_resource
from floe_lab.kube.tables import table, table_options

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def _at(seconds_ago: int) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 60, "3h1m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (2 * 86400, "2d"),
        (2 * 86400 + 3600, "2d1h"),
        (8 * 86400, "8d"),
        (2 * 365 * 86400, "2y"),
        (2 * 365 * 86400 + 86400, "2y1d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_ages_read_as_kubectl_prints_them(seconds: int, shown: str) -> None:
    assert human_duration(seconds) == shown


def _pod(status: dict[str, Any], **spec: Any) -> dict[str, Any]:
    containers = spec.pop("containers", [{"name": "app"}])
    return {
        "metadata": {"name": "p", "creationTimestamp": _at(90), **spec.pop("meta", {})},
        "spec": {"containers": containers, **spec},
        "status": status,
    }


def _pod_cells(pod: dict[str, Any]) -> list[Any]:
    return printer_for("pods").cells(pod, NOW)[1:4]  # READY, STATUS, RESTARTS


def _waiting(reason: str, restarts: int = 0) -> dict[str, Any]:
    return {"name": "app", "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}


def test_a_pods_status_is_its_phase_unless_a_container_says_more() -> None:
    running = {"name": "app", "ready": True, "restartCount": 0, "state": {"running": {}}}
    assert _pod_cells(_pod({"phase": "Running", "containerStatuses": [running]})) == ["1/1", "Running", "0"]
    assert _pod_cells(_pod({"phase": "Pending"})) == ["0/1", "Pending", "0"]
    crash = _waiting("CrashLoopBackOff", restarts=3) | {"lastState": {"terminated": {"finishedAt": _at(40)}}}
    assert _pod_cells(_pod({"phase": "Running", "containerStatuses": [crash]})) == [
        "0/1",
        "CrashLoopBackOff",
        "3 (40s ago)",
    ]
    exited = {"name": "app", "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}
    assert _pod_cells(_pod({"phase": "Failed", "containerStatuses": [exited]}))[1] == "ExitCode:2"
    evicted = _pod({"phase": "Failed", "reason": "Evicted"})
    assert _pod_cells(evicted)[1] == "Evicted"
    going = _pod({"phase": "Running"}, meta={"deletionTimestamp": _at(1)})
    assert _pod_cells(going)[1] == "Terminating"


def test_init_containers_and_sidecars() -> None:
    init = [{"name": "migrate"}, {"name": "proxy", "restartPolicy": "Always"}]
    first = {"name": "migrate", "restartCount": 2, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
    status = {"phase": "Pending", "initContainerStatuses": [first]}
    assert _pod_cells(_pod(status, initContainers=init)) == ["0/2", "Init:CrashLoopBackOff", "2"]
    status["initContainerStatuses"] = [{"name": "migrate", "state": {"waiting": {"reason": "PodInitializing"}}}]
    assert _pod_cells(_pod(status, initContainers=init))[1] == "Init:0/2"
    done = {"name": "migrate", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    sidecar = {"name": "proxy", "started": True, "ready": True, "state": {"running": {}}}
    app = {"name": "app", "ready": True, "state": {"running": {}}}
    status = {"phase": "Running", "initContainerStatuses": [done, sidecar], "containerStatuses": [app]}
    assert _pod_cells(_pod(status, initContainers=init)) == ["2/2", "Running", "0"]


def test_workload_job_and_service_columns() -> None:
    template = {"spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}]}}
    deploy = {
        "metadata": {"name": "web", "creationTimestamp": _at(30)},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    assert printer_for("deployments").cells(deploy, NOW) == ["web", "2/3", 3, 2, "30s", "a,b", "a:1,b:2", "app=web"]
    job: dict[str, Any] = {
        "metadata": {"name": "seed", "creationTimestamp": _at(300)},
        "spec": {"template": template},
        "status": {"startTime": _at(290), "conditions": [{"type": "Failed", "status": "True"}]},
    }
    assert printer_for("jobs").cells(job, NOW)[:5] == ["seed", "Failed", "0/1", "4m50s", "5m"]
    job["status"] = {"succeeded": 1, "startTime": _at(290), "completionTime": _at(280)}
    job["status"]["conditions"] = [{"type": "Complete", "status": "True"}]
    assert printer_for("jobs").cells(job, NOW)[1:4] == ["Complete", "1/1", "10s"]
    service = {
        "metadata": {"name": "api", "creationTimestamp": _at(10)},
        "spec": {
            "type": "LoadBalancer",
            "clusterIP": "10.96.0.9",
            "selector": {"app": "api"},
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
        },
    }
    cells = printer_for("services").cells(service, NOW)
    assert cells == ["api", "LoadBalancer", "10.96.0.9", "<pending>", "80:30080/TCP,53/UDP", "10s", "app=api"]
    assert printer_for("leases").cells({"metadata": {"name": "l", "creationTimestamp": _at(5)}}, NOW) == ["l", "5s"]


def _request(accept: str | None, query: str = "") -> Any:
    headers = {"Accept": accept} if accept is not None else {}
    return make_mocked_request("GET", f"/api/v1/pods{query}", headers=headers)


def test_a_read_is_a_table_only_when_asked_first_and_406_when_nothing_fits() -> None:
    tables = ["application/json;as=Table;v=v1;g=meta.k8s.io", "application/json;as=Table;v=v1beta1;g=meta.k8s.io"]
    kubectl = ",".join([*tables, "application/json"])  # what `kubectl get` sends
    options = table_options(_request(kubectl))
    assert options is not None
    assert (options.api_version, options.include) == ("meta.k8s.io/v1", "Metadata")
    beta = table_options(_request("application/json;as=Table;v=v1beta1;g=meta.k8s.io", "?includeObject=Object"))
    assert beta is not None
    assert (beta.api_version, beta.include) == ("meta.k8s.io/v1beta1", "Object")
    for plain in (None, "", "*/*", "application/json", "application/vnd.kubernetes.protobuf,application/json"):
        assert table_options(_request(plain)) is None
    with pytest.raises(errors.ApiError) as refused:
        table_options(_request("application/vnd.kubernetes.protobuf"))
    assert (refused.value.code, refused.value.reason) == (406, "NotAcceptable")
    with pytest.raises(errors.ApiError):
        table_options(_request("application/json;as=Table;v=v1;g=meta.k8s.io", "?includeObject=All"))


def test_a_table_carries_the_columns_and_each_rows_metadata() -> None:
    rt = find_resource("pods")
    assert rt is not None
    pod = _pod({"phase": "Succeeded"}) | {"kind": "Pod", "apiVersion": "v1"}
    options = table_options(_request("application/json;as=Table;v=v1;g=meta.k8s.io"))
    assert options is not None
    body = table(rt, [pod], options, {"resourceVersion": "7"}, now=NOW)
    assert (body["kind"], body["apiVersion"], body["metadata"]) == ("Table", "meta.k8s.io/v1", {"resourceVersion": "7"})
    names = [(c["name"], c["priority"]) for c in body["columnDefinitions"]]
    assert names[:5] == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0)]
    assert ("IP", 1) in names
    [row] = body["rows"]
    assert row["cells"][:5] == ["p", "0/1", "Succeeded", "0", "90s"]
    assert row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": pod["metadata"],
    }
    assert row["conditions"][0]["type"] == "Completed"
    assert table(rt, [pod], options, {}, columns=False, now=NOW)["columnDefinitions"] == []
