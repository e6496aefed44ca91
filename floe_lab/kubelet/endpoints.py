"""The endpoints controller and kube-proxy of the lab: Endpoints objects and the ``services.json`` table.

Why both: a diagnosis reads Endpoints to see whether a Service has ready backends (``notReadyAddresses`` is how
a crashing backend shows), and the pods' network (``floe_lab.podnet``) routes a Service name and port to
a real loopback port through ``services.json``. Endpoints carry the *container* port numbers, as Kubernetes
would; the real loopback port is in the ``lab.floe.dev/real-ports`` annotation. ``services.json`` is derived
from Services and the workloads their selectors match (like kube-proxy's rules, it does not depend on pod
readiness: an unready backend refuses connections instead of vanishing from DNS). A Service that selects no
workload still resolves, and connections to it are refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from floe_lab.kubelet.api import JsonObj, KubeApi
from floe_lab.kubelet.context import NODE_NAME, REAL_PORTS_ANNOTATION
from floe_lab.kubelet.ports import port_key, write_json_atomic
from floe_lab.kubelet.snapshot import (
    Snapshot,
    is_ready,
    is_terminal,
    is_terminating,
    key,
    labels_match,
    workload_of,
)

__all__ = ["SERVICES_FILE", "desired_endpoints", "services_table", "sync_endpoints", "write_services"]

SERVICES_FILE = "services.json"


def _container_ports(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [p for c in spec.get("containers") or [] for p in c.get("ports") or []]


def _resolve_target(svc_port: Mapping[str, Any], pod_spec: Mapping[str, Any]) -> tuple[int, str] | None:
    """(container port number, ports.json key) a Service port targets in a pod spec, or None."""
    target = svc_port.get("targetPort", svc_port.get("port"))
    for port in _container_ports(pod_spec):
        if (isinstance(target, str) and port.get("name") == target) or port.get("containerPort") == target:
            return int(port["containerPort"]), port_key(port)
    if isinstance(target, int):
        return target, str(target)
    return None


def services_table(snap: Snapshot, ports: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """``{"services": {svc: {svcPort: "127.0.0.1:real"}}, "namespaces": [...]}`` from Services and the workloads they
    select; ``namespaces`` (those holding Services) is what ``NAME.<namespace>[.svc[.cluster.local]]`` may name."""
    workloads = [*snap.of("deployments"), *snap.of("statefulsets")]
    table: dict[str, dict[str, str]] = {}
    namespaces: set[str] = set()
    for svc in snap.of("services"):
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            continue
        name, namespace = key(svc)[1], key(svc)[0]
        namespaces.add(namespace)
        routes = table.setdefault(name, {})
        for workload in workloads:
            template = (workload.get("spec") or {}).get("template") or {}
            if key(workload)[0] != namespace or not labels_match(
                spec.get("selector"), (template.get("metadata") or {}).get("labels")
            ):
                continue
            for svc_port in spec.get("ports") or []:
                resolved = _resolve_target(svc_port, template.get("spec") or {})
                real = ports.get(key(workload)[1], {}).get(resolved[1]) if resolved else None
                if real is not None:
                    routes.setdefault(str(svc_port.get("port")), f"127.0.0.1:{real}")
    return {"services": table, "namespaces": sorted(namespaces)}


def write_services(state_dir: Path, table: Mapping[str, Any]) -> bool:
    """Rewrite ``services.json`` (atomically) if it differs; True when it was written."""
    path = state_dir / SERVICES_FILE
    try:
        if json.loads(path.read_text()) == table:
            return False
    except (OSError, ValueError):
        pass
    write_json_atomic(path, table)
    return True


def desired_endpoints(svc: JsonObj, snap: Snapshot, ports: Mapping[str, Mapping[str, int]]) -> JsonObj:
    """The Endpoints object the endpoints controller would write for ``svc``."""
    namespace, name = key(svc)
    spec = svc.get("spec") or {}
    subsets: dict[str, JsonObj] = {}
    real_ports: dict[str, int] = {}
    for pod in snap.of("pods"):
        if key(pod)[0] != namespace or is_terminating(pod) or is_terminal(pod):
            continue
        if not labels_match(spec.get("selector"), (pod.get("metadata") or {}).get("labels")):
            continue
        if not (pod.get("status") or {}).get("podIP"):
            continue
        workload = workload_of(pod, snap)[1]
        ep_ports = []
        for svc_port in spec.get("ports") or []:
            resolved = _resolve_target(svc_port, pod.get("spec") or {})
            if resolved is None:
                continue
            ep_port = {"port": resolved[0], "protocol": svc_port.get("protocol", "TCP")}
            if svc_port.get("name"):
                ep_port["name"] = svc_port["name"]
            ep_ports.append(ep_port)
            real = ports.get(workload, {}).get(resolved[1])
            if real is not None:
                real_ports[str(svc_port.get("name") or svc_port.get("port"))] = real
        if not ep_ports:
            continue
        group = subsets.setdefault(json.dumps(ep_ports, sort_keys=True), {"ports": ep_ports})
        meta = pod["metadata"]
        address = {
            "ip": "127.0.0.1",
            "nodeName": NODE_NAME,
            "targetRef": {"kind": "Pod", "namespace": namespace, "name": meta["name"], "uid": meta["uid"]},
        }
        group.setdefault("addresses" if is_ready(pod) else "notReadyAddresses", []).append(address)
    body: JsonObj = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(svc["metadata"].get("labels") or {}),
            "annotations": {REAL_PORTS_ANNOTATION: json.dumps(real_ports, sort_keys=True)},
        },
    }
    if subsets:
        body["subsets"] = list(subsets.values())
    return body


def _same(existing: JsonObj, desired: JsonObj) -> bool:
    meta, want = existing.get("metadata") or {}, desired["metadata"]
    return (
        existing.get("subsets") == desired.get("subsets")
        and (meta.get("labels") or {}) == want["labels"]
        and (meta.get("annotations") or {}).get(REAL_PORTS_ANNOTATION) == want["annotations"][REAL_PORTS_ANNOTATION]
    )


async def sync_endpoints(api: KubeApi, snap: Snapshot, ports: Mapping[str, Mapping[str, int]]) -> None:
    """Write the Endpoints of every Service with a selector; remove those whose Service is gone."""
    existing = snap.by_key("endpoints")
    services = {key(s): s for s in snap.of("services") if (s.get("spec") or {}).get("selector")}
    for svc_key, svc in services.items():
        if is_terminating(svc):
            continue
        desired = desired_endpoints(svc, snap, ports)
        current = existing.get(svc_key)
        if current is not None and _same(current, desired):
            continue
        if current is not None:
            annotations = {**(current["metadata"].get("annotations") or {}), **desired["metadata"]["annotations"]}
            desired["metadata"]["annotations"] = annotations
        await api.replace("endpoints", svc_key[0], svc_key[1], desired)
    all_services = {key(s) for s in snap.of("services")}
    for ep_key, ep in existing.items():
        managed = REAL_PORTS_ANNOTATION in ((ep.get("metadata") or {}).get("annotations") or {})
        if managed and ep_key not in all_services:
            await api.delete("endpoints", ep_key[0], ep_key[1])
