"""Deployments roll as Kubernetes rolls them: ``maxSurge``/``maxUnavailable`` (25%/25% by default), the new pod
beside the old one, the old ReplicaSet scaled down only once the new pod is Ready.

Pinned: the controller's arithmetic (fenceposts, scale-up room, unhealthy old pods cleaned up first, Recreate);
on real processes, a template whose pod runs but never gets Ready leaves the old Ready pod serving on the
workload's port (the new one listening on a port of its own meanwhile), and a good template after it takes over
that port once Ready, the stuck ReplicaSet cleaned up on the way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes_asyncio import client

from floe_lab import procs
from floe_lab.kubelet import LOG_FILE_ANNOTATION, LaunchContext
from floe_lab.kubelet.rolling import Fenceposts, ReplicaSetCounts, fenceposts, new_replicas, old_replicas
from tests.support.kubelet import (
    LAUNCHERS,
    NS,
    answer,
    container,
    container_status,
    eventually,
    is_ready,
    process_exists,
    py,
    read_text,
    running_lab,
    workload,
)

HANG = """
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
print("listening, never ready", flush=True)
time.sleep(600)
"""


async def hang_launcher(ctx: LaunchContext) -> procs.ProcSpec:
    """Listens on its ``http`` port (it would crash on one already taken) and never passes its ready check."""
    port = str(ctx.ports["http"])
    return procs.ProcSpec(name=ctx.pod_name, argv=py(HANG, port), env=dict(ctx.env), ready=[procs.LogReady("^READY")])


def _strategy(**rolling: Any) -> dict[str, Any]:
    return {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": rolling}}}


def test_fenceposts_round_surge_up_and_unavailable_down() -> None:
    assert fenceposts({}, 1) == Fenceposts(surge=1, unavailable=0)  # the defaults, 25%/25%, for one replica
    assert fenceposts({}, 4) == Fenceposts(surge=1, unavailable=1)
    assert fenceposts(_strategy(maxSurge="50%", maxUnavailable="50%"), 3) == Fenceposts(surge=2, unavailable=1)
    assert fenceposts(_strategy(maxSurge=0, maxUnavailable=0), 1) == Fenceposts(surge=0, unavailable=1)
    assert fenceposts({"spec": {"strategy": {"type": "Recreate"}}}, 1).recreate


def test_a_rollout_step_by_step_for_one_replica() -> None:
    bounds = Fenceposts(surge=1, unavailable=0)
    old = ReplicaSetCounts("old", replicas=1, available=1, pods=1)
    assert new_replicas(1, bounds, ReplicaSetCounts("new", 0, 0), [old]) == 1  # surge: the new pod beside the old
    not_ready = ReplicaSetCounts("new", replicas=1, available=0, pods=1)
    assert old_replicas(1, bounds, not_ready, [old]) == {"old": 1}  # the old Ready pod stays
    ready = ReplicaSetCounts("new", replicas=1, available=1, pods=1)
    assert old_replicas(1, bounds, ready, [old]) == {"old": 0}
    crashing_old = ReplicaSetCounts("bad", replicas=1, available=0, pods=1)
    assert old_replicas(1, bounds, ready, [old, crashing_old]) == {"old": 0, "bad": 0}
    assert old_replicas(1, bounds, not_ready, [old, crashing_old]) == {"old": 1, "bad": 0}  # unhealthy goes first
    no_surge = Fenceposts(surge=0, unavailable=1)
    assert new_replicas(1, no_surge, ReplicaSetCounts("new", 0, 0), [old]) == 0  # no room until the old goes
    assert old_replicas(1, no_surge, ReplicaSetCounts("new", 0, 0), [old]) == {"old": 0}
    recreate = Fenceposts(0, 1, recreate=True)
    assert old_replicas(1, recreate, ReplicaSetCounts("new", 0, 0), [old]) == {"old": 0}
    gone = ReplicaSetCounts("old", replicas=0, available=0, pods=0)
    assert new_replicas(1, recreate, ReplicaSetCounts("new", 0, 0), [old]) == 0  # the old pods must be gone first
    assert new_replicas(1, recreate, ReplicaSetCounts("new", 0, 0), [gone]) == 1


def _template_patch(launch: str, mode: str) -> dict[str, Any]:
    env = [{"name": "APP_MODE", "value": mode}]
    return {
        "spec": {
            "template": {
                "metadata": {"annotations": {"lab.floe.dev/launch": launch}},
                "spec": {"containers": [{"name": "web", "env": env}]},
            }
        }
    }


async def test_a_template_that_never_gets_ready_does_not_take_the_old_pod_down(tmp_path: Path) -> None:
    port = procs.free_port()
    launchers = {**LAUNCHERS, "hang": hang_launcher}
    async with running_lab(tmp_path, ports={"web": {"http": port}}, launcher_table=launchers) as lab:
        apps = client.AppsV1Api(lab.api_client)
        await lab.apply(workload("Deployment", "web", "serve", container("web", ports={"http": 80})))

        async def ready_pods() -> list[dict[str, Any]]:
            return [p for p in await lab.pods("web-") if is_ready(p)]

        first = (await eventually(ready_pods, what="first pod Ready"))[0]
        first_pid = await eventually(lambda: answer(port), what="the first process answering")

        await apps.patch_namespaced_deployment("web", NS, _template_patch("hang", "stuck"))

        async def running_unready() -> dict[str, Any] | None:
            for pod in await lab.pods("web-"):
                log = (pod["metadata"].get("annotations") or {}).get(LOG_FILE_ANNOTATION)
                if pod["metadata"]["uid"] != first["metadata"]["uid"] and log and "listening" in read_text(log):
                    return pod
            return None

        broken = await eventually(running_unready, within=30, what="the new pod running, not Ready")
        status = container_status(broken)
        assert "running" in status["state"] and not status["ready"] and status["restartCount"] == 0
        assert [p["metadata"]["uid"] for p in await ready_pods()] == [first["metadata"]["uid"]]  # still serving
        assert await answer(port) == first_pid
        deploy = await lab.get(f"/apis/apps/v1/namespaces/{NS}/deployments/web")
        conditions = {c["type"]: c for c in deploy["status"]["conditions"]}
        assert conditions["Available"]["status"] == "True"
        assert conditions["Progressing"]["reason"] == "ReplicaSetUpdated"
        replicas = {rs["metadata"]["name"]: rs["spec"]["replicas"] for rs in await _replicasets(lab)}
        assert replicas == {_rs(first): 1, _rs(broken): 1}

        await apps.patch_namespaced_deployment("web", NS, _template_patch("serve", "fixed"))

        async def rolled_out() -> bool:  # as `kubectl rollout status` judges it
            deploy = await lab.get(f"/apis/apps/v1/namespaces/{NS}/deployments/web")
            status = deploy.get("status") or {}
            done = status.get("observedGeneration", 0) >= deploy["metadata"]["generation"]
            counts = [status.get(k, 0) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")]
            return done and counts == [1, 1, 1, 1]

        await eventually(rolled_out, within=30, what="the rollout done")
        assert not process_exists(first_pid)  # done means the old process is gone: only the new pod is reachable
        new_pid = await eventually(lambda: answer(port), what="the workload's port relayed to the new pod")
        assert new_pid != first_pid and process_exists(new_pid)
        (fixed,) = await lab.pods("web-")
        assert is_ready(fixed) and fixed["metadata"]["uid"] not in (first["metadata"]["uid"], broken["metadata"]["uid"])
        replicas = {rs["metadata"]["name"]: rs["spec"]["replicas"] for rs in await _replicasets(lab)}
        assert replicas == {_rs(first): 0, _rs(broken): 0, _rs(fixed): 1}
        scaling = [e["message"] for e in await lab.events("web") if e["reason"] == "ScalingReplicaSet"]
        up, down = (
            f"Scaled up replica set {_rs(fixed)} from 0 to 1",
            f"Scaled down replica set {_rs(first)} from 1 to 0",
        )
        assert scaling.index(up) < scaling.index(down)


def _rs(pod: dict[str, Any]) -> str:
    return str(pod["metadata"]["ownerReferences"][0]["name"])


async def _replicasets(lab: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await lab.get(f"/apis/apps/v1/namespaces/{NS}/replicasets"))["items"]
    return items
