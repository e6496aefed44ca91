"""The Deployment and ReplicaSet controllers, at lab scale (at most one desired pod per workload).

Why real ReplicaSets: a diagnosis that walks Deployment -> ReplicaSet -> Pod (``kubectl rollout status``, owner
references, ``pod-template-hash``) must find that chain. A template change makes a new ReplicaSet and rolls to it
as the deployment controller does (:mod:`floe_lab.kubelet.rolling`: ``maxSurge``/``maxUnavailable``, default
25%/25%): the new pod starts beside the old one, and the old ReplicaSet is scaled down only once the new pod is
Ready — a template that never gets Ready leaves the old Ready pod serving. So patching a Deployment (a
remediation) really replaces its pod and process, and a bad patch really does not. Each workload wants at most
one pod; the surge pod of a rollout runs on ports of its own until it takes over the workload's
(:mod:`floe_lab.kubelet.leases`); an old pod whose process is still stopping counts as running (it may still
hold those ports), so a rollout is done when its traffic can only reach the new pod. ``replicas: 0`` stops it.
Status and conditions carry the controllers' own reasons and messages.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from floe_lab.kubelet.api import JsonObj, KubeApi, KubeError
from floe_lab.kubelet.recorder import EventRecorder, now
from floe_lab.kubelet.rolling import Fenceposts, ReplicaSetCounts, fenceposts, new_replicas, old_replicas
from floe_lab.kubelet.snapshot import (
    Snapshot,
    controller_uid,
    is_ready,
    is_terminal,
    is_terminating,
    key,
    owner_ref,
)
from floe_lab.kubelet.templates import condition, new_pod, set_condition, template_hash

__all__ = ["active", "nonzero", "sync_deployment", "sync_replicaset", "want_replicas", "write_status"]

_REVISION = "deployment.kubernetes.io/revision"


def active(pods: list[JsonObj]) -> list[JsonObj]:
    return [p for p in pods if not is_terminating(p) and not is_terminal(p)]


def want_replicas(obj: JsonObj) -> int:
    return min(int((obj.get("spec") or {}).get("replicas", 1)), 1)


def nonzero(status: JsonObj) -> JsonObj:
    return {k: v for k, v in status.items() if v not in (0, None)}


async def write_status(api: KubeApi, plural: str, obj: JsonObj, status: JsonObj) -> None:
    if (obj.get("status") or {}) != status:
        namespace, name = key(obj)
        await api.replace_status(plural, namespace, name, status)


def _replicaset(deploy: JsonObj, pod_hash: str, replicas: int, revision: int, *, desired: int, most: int) -> JsonObj:
    namespace, name = key(deploy)
    spec, template = deploy["spec"], deploy["spec"]["template"]
    labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": pod_hash}
    selector = dict(spec.get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), "pod-template-hash": pod_hash}
    annotations = {
        "deployment.kubernetes.io/desired-replicas": str(desired),
        "deployment.kubernetes.io/max-replicas": str(most),
        _REVISION: str(revision),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{name}-{pod_hash}",
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [owner_ref(deploy)],
        },
        "spec": {
            "replicas": replicas,
            "selector": selector,
            "template": {**template, "metadata": {**(template.get("metadata") or {}), "labels": labels}},
        },
    }


async def _scale(api: KubeApi, recorder: EventRecorder, deploy: JsonObj, rs: JsonObj, to: int) -> None:
    before = int((rs.get("spec") or {}).get("replicas", 0))
    namespace, name = key(rs)
    await api.patch("replicasets", namespace, name, {"spec": {"replicas": to}})
    verb = "up" if to > before else "down"
    await recorder.emit(
        deploy,
        "Normal",
        "ScalingReplicaSet",
        f"Scaled {verb} replica set {name} from {before} to {to}",
        component="deployment-controller",
    )


async def _new_replicaset(
    api: KubeApi,
    recorder: EventRecorder,
    deploy: JsonObj,
    snap: Snapshot,
    *,
    owned: list[JsonObj],
    pod_hash: str,
    want: int,
    bounds: Fenceposts,
    initial: int,
) -> JsonObj:
    revision = 1 + max((int((rs["metadata"].get("annotations") or {}).get(_REVISION, 0)) for rs in owned), default=0)
    body = _replicaset(deploy, pod_hash, initial, revision, desired=want, most=want + bounds.surge)
    try:
        rs = await api.create("replicasets", body["metadata"]["namespace"], body)
    except KubeError as exc:
        existing = snap.by_key("replicasets").get((body["metadata"]["namespace"], body["metadata"]["name"]))
        if exc.status != 409 or existing is None or controller_uid(existing) is not None:
            raise
        rs = await api.patch("replicasets", *key(existing), {"metadata": {"ownerReferences": [owner_ref(deploy)]}})
    if initial:
        await recorder.emit(
            deploy,
            "Normal",
            "ScalingReplicaSet",
            f"Scaled up replica set {rs['metadata']['name']} from 0 to {initial}",
            component="deployment-controller",
        )
    return rs


def _seconds_since(stamp: str | None) -> float:
    if not stamp:
        return 0.0
    return time.time() - datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _progressing(deploy: JsonObj, rs_name: str, created: bool, complete: bool, stamp: str) -> JsonObj:
    conditions = (deploy.get("status") or {}).get("conditions") or []
    old: JsonObj = next((c for c in conditions if c.get("type") == "Progressing"), {})
    same_rs = rs_name in str(old.get("message", ""))
    if created:
        return condition("Progressing", True, "NewReplicaSetCreated", f'Created new replica set "{rs_name}"', stamp)
    if complete or (old.get("reason") == "NewReplicaSetAvailable" and same_rs):
        return condition(
            "Progressing", True, "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.', stamp
        )
    deadline = float(deploy["spec"].get("progressDeadlineSeconds", 600))
    timed_out = old.get("reason") == "ProgressDeadlineExceeded" and same_rs
    if timed_out or (old.get("status") == "True" and _seconds_since(old.get("lastUpdateTime")) > deadline):
        return condition(
            "Progressing",
            False,
            "ProgressDeadlineExceeded",
            f'ReplicaSet "{rs_name}" has timed out progressing.',
            stamp,
        )
    return condition("Progressing", True, "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.', stamp)


def _counts(rs: JsonObj, pods: list[JsonObj]) -> ReplicaSetCounts:
    replicas = int((rs.get("spec") or {}).get("replicas", 0))
    return ReplicaSetCounts(str(rs["metadata"]["uid"]), replicas, sum(map(is_ready, pods)), len(pods))


def _oldest_first(rs: JsonObj) -> tuple[str, str]:
    return str(rs["metadata"].get("creationTimestamp") or ""), str(rs["metadata"]["name"])


async def _roll(
    api: KubeApi, recorder: EventRecorder, deploy: JsonObj, snap: Snapshot, pods: dict[str, list[JsonObj]]
) -> tuple[JsonObj, bool, Fenceposts]:
    """One step of the rollout: the new ReplicaSet (created if needed) and the old ones scaled as far as allowed."""
    want, pod_hash = want_replicas(deploy), template_hash(deploy["spec"]["template"])
    bounds = fenceposts(deploy, want)
    owned = snap.owned("replicasets", deploy)
    new_rs = next(
        (rs for rs in owned if (rs["metadata"].get("labels") or {}).get("pod-template-hash") == pod_hash), None
    )
    olds = sorted((rs for rs in owned if rs is not new_rs), key=_oldest_first)
    old_counts = [_counts(rs, pods.get(rs["metadata"]["uid"], [])) for rs in olds]
    created = new_rs is None
    if new_rs is None:
        target = new_replicas(want, bounds, ReplicaSetCounts("", 0, 0), old_counts)
        new_rs = await _new_replicaset(
            api, recorder, deploy, snap, owned=owned, pod_hash=pod_hash, want=want, bounds=bounds, initial=target
        )
        fresh = ReplicaSetCounts(str(new_rs["metadata"]["uid"]), target, 0)
    else:
        fresh = _counts(new_rs, pods.get(new_rs["metadata"]["uid"], []))
        target = new_replicas(want, bounds, fresh, old_counts)
        if target != fresh.replicas:
            await _scale(api, recorder, deploy, new_rs, target)
        fresh = ReplicaSetCounts(fresh.uid, target, fresh.available, fresh.pods)
    scaled = old_replicas(want, bounds, fresh, old_counts)
    for rs, counts in zip(olds, old_counts, strict=True):
        if scaled[counts.uid] != counts.replicas:
            await _scale(api, recorder, deploy, rs, scaled[counts.uid])
    return new_rs, created, bounds


async def sync_deployment(
    api: KubeApi, recorder: EventRecorder, deploy: JsonObj, snap: Snapshot, *, lingering: Mapping[str, int]
) -> None:
    """Roll and report one Deployment; ``lingering``: ReplicaSet uid -> its deleted pods whose processes the node
    is still stopping (they may still serve the workload's ports: counted as running until they are gone)."""
    if is_terminating(deploy):
        return
    want = want_replicas(deploy)
    owned = snap.owned("replicasets", deploy)
    pods = {rs["metadata"]["uid"]: active(snap.owned("pods", rs)) for rs in owned}
    new_rs, created, bounds = await _roll(api, recorder, deploy, snap, pods)
    every = [p for group in pods.values() for p in group]
    stopping = sum(lingering.get(rs["metadata"]["uid"], 0) for rs in owned)
    fresh = pods.get(new_rs["metadata"]["uid"], [])
    ready, fresh_ready = sum(map(is_ready, every)), sum(map(is_ready, fresh))
    complete = len(fresh) == want and fresh_ready == want and len(every) == want and not stopping
    stamp = now()
    old_conditions: list[JsonObj] = (deploy.get("status") or {}).get("conditions") or []
    enough = ready >= want - (0 if bounds.recreate or want == 0 else bounds.unavailable)
    available = condition(
        "Available",
        enough,
        *(
            ("MinimumReplicasAvailable", "Deployment has minimum availability.")
            if enough
            else ("MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        ),
        stamp,
    )
    merged = set_condition(
        set_condition(list(old_conditions), available),
        _progressing(deploy, new_rs["metadata"]["name"], created, complete, stamp),
    )
    conditions = [c for t in ("Available", "Progressing") for c in merged if c["type"] == t]
    status: dict[str, Any] = nonzero(
        {
            "observedGeneration": deploy["metadata"].get("generation"),
            "replicas": len(every) + stopping,
            "updatedReplicas": len(fresh),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": max(len(every) - ready, want - ready, 0),
        }
    )
    status["conditions"] = conditions
    await write_status(api, "deployments", deploy, status)


async def sync_replicaset(api: KubeApi, recorder: EventRecorder, rs: JsonObj, snap: Snapshot) -> None:
    if is_terminating(rs):
        return
    want = int((rs.get("spec") or {}).get("replicas", 1))
    pods = active(snap.owned("pods", rs))
    namespace, name = key(rs)
    for _ in range(want - len(pods)):
        created = await api.create("pods", namespace, new_pod(rs["spec"]["template"], rs, generate_name=f"{name}-"))
        await recorder.emit(
            rs,
            "Normal",
            "SuccessfulCreate",
            f"Created pod: {created['metadata']['name']}",
            component="replicaset-controller",
        )
    for pod in sorted(pods, key=is_ready)[: max(len(pods) - want, 0)]:
        await api.delete("pods", namespace, pod["metadata"]["name"])
        await recorder.emit(
            rs,
            "Normal",
            "SuccessfulDelete",
            f"Deleted pod: {pod['metadata']['name']}",
            component="replicaset-controller",
        )
    ready = sum(map(is_ready, pods))
    status = {
        "replicas": len(pods),
        **nonzero({"fullyLabeledReplicas": len(pods), "readyReplicas": ready, "availableReplicas": ready}),
        "observedGeneration": rs["metadata"].get("generation"),
    }
    await write_status(api, "replicasets", rs, status)
