"""kubernetes probe: a Service whose targetPort no pod it selects declares (a typo, a port the chart renamed).

The pods are healthy and the Service has endpoints, so nothing else in the namespace says anything is wrong; a
client through the Service is refused (a number nobody listens on) or finds no endpoint (a name nobody declares).
Pods that declare no ports at all say nothing either way, and a port sent where the pods declare it is fine, by
number or by name, as is a port without targetPort (it goes to the same number)."""

from __future__ import annotations

from typing import Any

from floe_agents.findings import Status
from floe_agents.probes.kubernetes import CODES, kubernetes
from tests.support.kube import fake_apiserver, kube_ctx, meta, pod
from tests.support.probes import grouped_by_code, run_probe

RUNNING = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
CODE = "k8s.service_target_port_undeclared"


def serving(name: str, component: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    p = pod(name, component, RUNNING)
    p["spec"]["containers"][0]["ports"] = ports
    return p


def service(name: str, component: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": meta(name, component),
            "spec": {"selector": {"app.kubernetes.io/component": component}, "ports": ports}}  # fmt: skip


def endpoints(name: str, pod_name: str) -> dict[str, Any]:
    return {"metadata": meta(name, "x"), "subsets": [{"addresses": [{"ip": "10.0.0.9",
            "targetRef": {"kind": "Pod", "name": pod_name}}]}]}  # fmt: skip


async def findings(pods: list[dict[str, Any]], services: list[dict[str, Any]]) -> dict[str, Any]:
    objects = {
        "pods": pods,
        "services": services,
        "secrets": [],
        "configmaps": [],
        "jobs": [],
        "events": [],
        "endpoints": [endpoints(s["metadata"]["name"], pods[0]["metadata"]["name"]) for s in services],
    }
    async with fake_apiserver(objects) as url, kube_ctx(url) as ctx:
        return grouped_by_code(await run_probe(kubernetes, ctx), CODES)


CATALOG_PORTS = [{"name": "http", "containerPort": 8181}, {"name": "management", "containerPort": 8182}]


async def test_a_number_no_pod_declares_is_the_services_fault() -> None:
    by = await findings([serving("floe-infra-polaris-1", "polaris", CATALOG_PORTS)],
                        [service("floe-infra-polaris", "polaris", [{"name": "http", "port": 8181, "targetPort": 18181},
                                                                   {"name": "management", "port": 8182,
                                                                    "targetPort": "management"}])])  # fmt: skip
    [wrong] = by[CODE]
    assert (wrong.status, wrong.component, wrong.subject) == (Status.FAIL, "polaris", "service/floe-infra-polaris")
    ev = wrong.evidence
    assert (ev["service"], ev["port"], ev["target_port"]) == ("floe-infra-polaris", 8181, 18181)
    assert ev["declared_ports"] == ["http=8181", "management=8182"]
    assert ev["selected_pods"] == ["floe-infra-polaris-1"]
    assert "sends port 8181 to container port 18181" in wrong.summary


async def test_a_name_no_pod_declares_is_the_services_fault() -> None:
    by = await findings(
        [serving("floe-infra-polaris-1", "polaris", CATALOG_PORTS)],
        [service("floe-infra-polaris", "polaris", [{"port": 8181, "targetPort": "api"}])],
    )
    [wrong] = by[CODE]
    assert (wrong.evidence["port"], wrong.evidence["target_port"]) == (8181, "api")


async def test_declared_ports_by_number_name_or_default_are_fine() -> None:
    ports: list[dict[str, Any]] = [
        {"port": 8181, "targetPort": 8181},
        {"port": 8182, "targetPort": "management"},
        {"port": 8181},
    ]
    by = await findings(
        [serving("floe-infra-polaris-1", "polaris", CATALOG_PORTS)], [service("floe-infra-polaris", "polaris", ports)]
    )
    assert CODE not in by
    assert "k8s.service_no_ready_endpoints" not in by


async def test_pods_that_declare_no_port_say_nothing() -> None:
    by = await findings(
        [serving("floe-infra-marquez-1", "marquez", [])],
        [service("floe-infra-marquez", "marquez", [{"port": 5000, "targetPort": 9999}])],
    )
    assert CODE not in by
