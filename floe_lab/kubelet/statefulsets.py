"""The StatefulSet controller, at lab scale: one pod, ``<sts>-0``, with the StatefulSet's identity.

Why a fixed name matters: a StatefulSet's pod keeps its name across restarts and deletions (``floe-infra-
postgresql-0``), carries ``statefulset.kubernetes.io/pod-name`` and ``controller-revision-hash``, and a template
change replaces it in place (delete, then create under the same name) — the rolling update a real controller
does. An orphaned pod of that name is adopted, as the real controller adopts matching orphans.
"""

from __future__ import annotations

from floe_lab.kubelet.api import JsonObj, KubeApi
from floe_lab.kubelet.recorder import EventRecorder
from floe_lab.kubelet.replicas import nonzero, want_replicas, write_status
from floe_lab.kubelet.snapshot import Snapshot, controller_uid, is_ready, is_terminating, key, owner_ref
from floe_lab.kubelet.templates import new_pod, template_hash

__all__ = ["sync_statefulset"]


async def sync_statefulset(api: KubeApi, recorder: EventRecorder, sts: JsonObj, snap: Snapshot) -> None:
    if is_terminating(sts):
        return
    namespace, name = key(sts)
    revision = f"{name}-{template_hash(sts['spec']['template'])}"
    pod_name, want = f"{name}-0", want_replicas(sts)
    pod = snap.by_key("pods").get((namespace, pod_name))
    uid = sts["metadata"]["uid"]
    if pod is not None and controller_uid(pod) is None and not is_terminating(pod):
        pod = await api.patch("pods", namespace, pod_name, {"metadata": {"ownerReferences": [owner_ref(sts)]}})
    ours = pod is not None and controller_uid(pod) == uid
    labels = (pod or {}).get("metadata", {}).get("labels") or {}
    if (
        pod is not None
        and ours
        and not is_terminating(pod)
        and (want == 0 or labels.get("controller-revision-hash") != revision)
    ):
        await api.delete("pods", namespace, pod_name)
        await recorder.emit(
            sts,
            "Normal",
            "SuccessfulDelete",
            f"delete Pod {pod_name} in StatefulSet {name} successful",
            component="statefulset-controller",
        )
    elif pod is None and want:
        extra = {
            "statefulset.kubernetes.io/pod-name": pod_name,
            "apps.kubernetes.io/pod-index": "0",
            "controller-revision-hash": revision,
        }
        spec_extra = {
            "hostname": pod_name,
            **({"subdomain": sts["spec"]["serviceName"]} if sts["spec"].get("serviceName") else {}),
        }
        await api.create(
            "pods", namespace, new_pod(sts["spec"]["template"], sts, name=pod_name, labels=extra, spec_extra=spec_extra)
        )
        await recorder.emit(
            sts,
            "Normal",
            "SuccessfulCreate",
            f"create Pod {pod_name} in StatefulSet {name} successful",
            component="statefulset-controller",
        )
    live = [pod] if pod is not None and ours and not is_terminating(pod) else []
    ready = sum(map(is_ready, live))
    current = [p for p in live if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == revision]
    status = {
        "observedGeneration": sts["metadata"].get("generation"),
        "replicas": len(live),
        **nonzero(
            {
                "readyReplicas": ready,
                "currentReplicas": len(current),
                "updatedReplicas": len(current),
                "availableReplicas": ready,
            }
        ),
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
    }
    await write_status(api, "statefulsets", sts, status)
