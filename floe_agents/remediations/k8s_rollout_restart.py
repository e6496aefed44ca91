"""``k8s.rollout_restart``: restart what reads a Secret or ConfigMap that changed, and wait until it is Ready.

Why: a pod reads env vars from a Secret once, when its container starts, and a pod stuck on a Secret that did not
exist may sit in back-off long after it appears. After heal creates or changes such an object, the workloads whose
pod templates reference it (env, envFrom, volumes, projected volumes) are restarted exactly as ``kubectl rollout
restart`` does it: the pod-template annotation ``kubectl.kubernetes.io/restartedAt`` set to now, sent as a
strategic-merge patch (first as a server-side dry run), which makes the controller roll new pods; the step then
waits, bounded, for the rollout to be Ready and names the workload if it is not.

Idempotent by what the pods show, not by what heal remembers: a workload is restarted only when one of its
current pods that references the object has a container that started before the object last changed (its
creation or, where the API records it, its last managed-fields write), or is not Ready because of it (the
kubelet's config error names it). New pods started after the change plan nothing, so a second heal plans nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from floe_agents.heal_context import HealContext
from floe_agents.remediation import Params, Step, remediation
from floe_agents.remediations._kube import RESTARTED_AT, Kube, Pod, later, parse_time, references, restart_step

__all__ = ["RESTARTED_AT", "RolloutRestartParams", "spec"]

_CONFIG_ERRORS = frozenset({"CreateContainerConfigError", "CreateContainerError"})


class RolloutRestartParams(Params):
    namespace: str = Field(min_length=1)
    kind: Literal["Secret", "ConfigMap"] = "Secret"
    name: str = Field(min_length=1, description="The Secret/ConfigMap that changed (the cause's evidence).")
    wait_seconds: float = Field(180.0, gt=0, le=1800, description="How long each rollout may take to be Ready.")


def _why_stale(pod: Pod, kind: str, name: str, changed: datetime | None) -> str | None:
    """Why ``pod`` still runs without the object's current content; None when it has it."""
    if (kind, name) not in references(pod.spec):
        return None
    for cs in pod.status.container_statuses:
        waiting = cs.state.waiting
        if not cs.ready and waiting and waiting.reason in _CONFIG_ERRORS and name in (waiting.message or ""):
            return f"pod {pod.metadata.name} is not Ready: {waiting.reason} ({waiting.message})"
        started = parse_time(cs.state.running.started_at) if cs.state.running else None
        if started is not None and changed is not None and started < changed:
            return f"pod {pod.metadata.name} started before {kind} {name} last changed"
    return None


@remediation(
    "k8s.rollout_restart",
    params=RolloutRestartParams,
    risk="low",
    permissions=[
        ("get", "secrets"),
        ("get", "configmaps"),
        ("list", "pods"),
        ("list", "deployments.apps"),
        ("patch", "deployments.apps"),
        ("list", "statefulsets.apps"),
        ("patch", "statefulsets.apps"),
    ],
)
async def spec(ctx: HealContext, params: RolloutRestartParams) -> list[Step]:
    """Restart (rollout) the workloads that read a changed Secret/ConfigMap, and wait for them to be Ready."""
    kube = Kube(ctx)
    ns, kind, name = params.namespace, params.kind, params.name
    read = kube.core.read_namespaced_secret if kind == "Secret" else kube.core.read_namespaced_config_map
    obj = await kube.call(read, name, ns, verb="get", what=f"{kind} {ns}/{name}", missing_ok=True)
    meta = obj.get("metadata") or {}
    stamps = [meta.get("creationTimestamp"), *(f.get("time") for f in meta.get("managedFields") or [] if f)]
    changed = later(*stamps) if obj else None
    steps = []
    for w in await kube.workloads(ns):
        if (kind, name) not in references(w.spec.template.spec) or w.spec.replicas == 0 or w.spec.paused:
            continue  # does not read it, runs nothing, or paused (kubectl refuses to restart a paused rollout)
        why = next((r for pod in await kube.pods_of(ns, w) if (r := _why_stale(pod, kind, name, changed))), None)
        if why is not None:
            steps.append(restart_step(ctx, kube, ns, w, why=why, wait_seconds=params.wait_seconds))
    return steps
