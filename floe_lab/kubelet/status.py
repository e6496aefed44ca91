"""Pod status from what the kubelet knows about the container: phase, conditions, container statuses.

Why derived, not stored: the pod status is a *report*. The worker that runs a pod's processes keeps one
:class:`ContainerView` per container it runs (the facts: waiting and why, running since when, terminated with
which code, restarts) and a few pod-level facts (:class:`PodFacts`), and this module renders them into the shape
and wording a real kubelet writes, so ``kubectl get pods`` reads ``CrashLoopBackOff``/``Init:Error``/
``CreateContainerConfigError``/``Completed`` exactly as on a cluster. Init containers are reported in
``initContainerStatuses`` and decide the ``Initialized`` condition; until they all succeeded, app containers wait
in ``PodInitializing``. Transition times are kept from the previous status while a condition does not change, so
a sync that learns nothing writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from floe_lab.kubelet.api import JsonObj

__all__ = ["ContainerView", "PodFacts", "pod_status", "qualified_image", "waiting"]


def waiting(reason: str, message: str | None = None) -> JsonObj:
    state: JsonObj = {"reason": reason}
    if message:
        state["message"] = message
    return {"waiting": state}


@dataclass
class ContainerView:
    """The facts about a pod's container, owned and updated by its worker."""

    name: str
    image: str
    state: JsonObj = field(default_factory=lambda: waiting("ContainerCreating"))
    last_state: JsonObj = field(default_factory=dict)
    ready: bool = False
    restart_count: int = 0
    container_id: str | None = None
    finished: bool = False
    ever_started: bool = False
    log_file: str | None = None
    previous_log_file: str | None = None

    @property
    def image_id(self) -> str:
        repo = self.image.rsplit(":", 1)[0] if ":" in self.image.rsplit("/", 1)[-1] else self.image
        digest = hashlib.sha256(self.image.encode()).hexdigest()
        return f"{qualified_image(repo)}@sha256:{digest}"

    def new_container_id(self, pod_uid: str) -> str:
        seed = f"{pod_uid}/{self.name}/{self.restart_count}"
        self.container_id = "containerd://" + hashlib.sha256(seed.encode()).hexdigest()
        return self.container_id


def qualified_image(image: str) -> str:
    """The image reference as containerd resolves it (``docker.io/library/...`` for short names)."""
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return image
    return f"docker.io/{image}" if "/" in image else f"docker.io/library/{image}"


@dataclass(frozen=True)
class PodFacts:
    """What the pod's worker knows beyond its containers: the sandbox (volumes set up), and whether an init
    container failed for good (``restartPolicy: Never``), which fails the pod."""

    app: ContainerView
    init: Sequence[ContainerView] = ()
    sandbox_ready: bool = False
    init_failed: bool = False


def _succeeded(view: ContainerView) -> bool:
    return (view.state.get("terminated") or {}).get("exitCode") == 0


def _phase(facts: PodFacts, initialized: bool) -> str:
    view = facts.app
    if facts.init_failed:
        return "Failed"
    if view.finished:
        return "Succeeded" if _succeeded(view) else "Failed"
    return "Running" if view.ever_started and initialized else "Pending"


def _condition(
    old: dict[str, JsonObj], type_: str, ok: bool, *, stamp: str, reason: str | None = None, message: str | None = None
) -> JsonObj:
    status = "True" if ok else "False"
    previous = old.get(type_)
    since = previous["lastTransitionTime"] if previous and previous.get("status") == status else stamp
    cond: JsonObj = {"type": type_, "status": status, "lastProbeTime": None, "lastTransitionTime": since}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def _container_status(view: ContainerView, *, init: bool = False) -> JsonObj:
    running = "running" in view.state
    ready = _succeeded(view) if init else view.ready and running  # a completed init container counts as ready
    status: JsonObj = {
        "name": view.name,
        "state": view.state,
        "lastState": view.last_state,
        "ready": ready,
        "restartCount": view.restart_count,
        "image": view.image,
        "imageID": view.image_id if view.ever_started else "",
        "started": running,
    }
    if view.container_id and (running or "terminated" in view.state or view.last_state):
        status["containerID"] = view.container_id
    return status


def _extra_status(container: JsonObj, reason: str) -> JsonObj:
    """A container the lab does not run (only the first is launched): it stays waiting, honestly."""
    name, image = str(container.get("name")), str(container.get("image", ""))
    return {
        "name": name,
        "state": waiting(reason),
        "lastState": {},
        "ready": False,
        "restartCount": 0,
        "image": image,
        "imageID": "",
        "started": False,
    }


def pod_status(pod: JsonObj, facts: PodFacts, *, start_time: str, stamp: str) -> JsonObj:
    """The status the kubelet writes for ``pod`` given its worker's ``facts`` (``stamp``: now, RFC 3339)."""
    old: dict[str, Any] = pod.get("status") or {}
    old_conditions = {str(c.get("type")): c for c in old.get("conditions") or []}
    incomplete = [v.name for v in facts.init if not _succeeded(v)]
    initialized = not incomplete
    default = "PodInitializing" if facts.init else "ContainerCreating"
    extras = [_extra_status(c, default) for c in ((pod.get("spec") or {}).get("containers") or [])[1:]]
    statuses = [_container_status(facts.app), *extras]
    phase = _phase(facts, initialized)
    all_ready = all(s["ready"] for s in statuses)
    unready = [s["name"] for s in statuses if not s["ready"]]
    why: dict[str, str | None] = {"reason": None, "message": None}
    if phase == "Succeeded":
        why["reason"] = "PodCompleted"
    elif not all_ready:
        why = {"reason": "ContainersNotReady", "message": f"containers with unready status: [{' '.join(unready)}]"}
    init_why: dict[str, str | None] = {"reason": None, "message": None}
    if incomplete:
        message = f"containers with incomplete status: [{' '.join(incomplete)}]"
        init_why = {"reason": "ContainersNotInitialized", "message": message}
    sandbox = facts.sandbox_ready and not facts.app.finished and not facts.init_failed
    conditions = [
        _condition(old_conditions, "PodReadyToStartContainers", sandbox, stamp=stamp),
        _condition(old_conditions, "Initialized", initialized, stamp=stamp, **init_why),
        _condition(old_conditions, "Ready", all_ready, stamp=stamp, **why),
        _condition(old_conditions, "ContainersReady", all_ready, stamp=stamp, **why),
        _condition(old_conditions, "PodScheduled", True, stamp=stamp),
    ]
    status: JsonObj = {
        "phase": phase,
        "conditions": conditions,
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "startTime": old.get("startTime") or start_time,
    }
    if facts.init:
        status["initContainerStatuses"] = [_container_status(v, init=True) for v in facts.init]
    status["containerStatuses"] = statuses
    status["qosClass"] = old.get("qosClass", "BestEffort")
    if facts.sandbox_ready or any(v.ever_started for v in (*facts.init, facts.app)):
        status["podIP"] = "127.0.0.1"
        status["podIPs"] = [{"ip": "127.0.0.1"}]
    return status
