"""Init containers and ``command``/``args`` as a kubelet runs them.

Pinned: init containers run in order, each to success, before the app container (``$(VAR)`` expanded from the
container's env in ``command``/``args``, ``$$(VAR)`` kept literal, ``command`` + ``args`` on the ``exec`` image);
a failing init container crash-loops in ``initContainerStatuses`` (``Init:CrashLoopBackOff``) with the app
container never started, or, under ``restartPolicy: Never``, fails the pod (``Init:Error``); the ``exec`` image's
own rules (no command, a missing program, paths under a mount).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from floe_lab.kubelet import ExecNotFoundError, LaunchContext
from floe_lab.kubelet.execimage import NoCommandError, exec_image, rewrite_paths
from tests.support.kubelet import NS, container, eventually, is_ready, read_text, running_lab, workload

SHARED = [{"name": "shared", "emptyDir": {}}]
SHARED_MOUNT = [{"name": "shared", "mountPath": "/shared"}]


def _with_inits(obj: dict[str, Any], *inits: dict[str, Any]) -> dict[str, Any]:
    obj["spec"]["template"]["spec"]["initContainers"] = list(inits)
    return obj


def _init(name: str, command: list[str], args: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    ctr = {"name": name, "image": "busybox:1.36", "command": command, "volumeMounts": SHARED_MOUNT, **extra}
    if args is not None:
        ctr["args"] = args
    return ctr


async def _pod(lab: Any, prefix: str) -> dict[str, Any] | None:
    pods = await lab.pods(prefix)
    return pods[0] if pods else None


def _conditions(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in pod["status"]["conditions"]}


async def test_init_containers_run_in_order_to_success_before_the_app(tmp_path: Path) -> None:
    first = _init(
        "greet",
        ["sh", "-c", "printf '%s|%s' '$(GREETING)' '$$(GREETING)' > /shared/greeting"],
        env=[{"name": "GREETING", "value": "hello"}],
    )
    second = _init("copy", ["sh", "-c"], ["cat /shared/greeting > /shared/seen-by-second"])
    app = container("app", ports={"http": 80}, mounts=SHARED_MOUNT)
    async with running_lab(tmp_path) as lab:
        await lab.apply(_with_inits(workload("Deployment", "web", "serve", app, volumes=SHARED), first, second))

        async def ready() -> dict[str, Any] | None:
            pod = await _pod(lab, "web-")
            return pod if pod and is_ready(pod) else None

        pod = await eventually(ready, within=30, what="web Ready after its init containers")
        shared = lab.state / "pods" / pod["metadata"]["uid"] / "volumes" / "shared"
        assert read_text(shared / "greeting") == "hello|$(GREETING)"  # expanded, and the escape kept literal
        assert read_text(shared / "seen-by-second") == "hello|$(GREETING)"  # the second ran after the first
        inits = pod["status"]["initContainerStatuses"]
        assert [s["name"] for s in inits] == ["greet", "copy"]
        for status in inits:
            assert status["state"]["terminated"]["reason"] == "Completed" and status["ready"] is True
        assert _conditions(pod)["Initialized"]["status"] == "True"
        started = [e for e in await lab.events(pod["metadata"]["name"]) if e["reason"] == "Started"]
        paths = [e["involvedObject"]["fieldPath"] for e in sorted(started, key=lambda e: e["firstTimestamp"])]
        assert set(paths) == {"spec.initContainers{greet}", "spec.initContainers{copy}", "spec.containers{app}"}


async def test_a_failing_init_container_crash_loops_and_the_app_never_starts(tmp_path: Path) -> None:
    wait_db = _init(
        "wait-db", ["sh", "-c", "echo cannot reach db; exit 2"], terminationMessagePolicy="FallbackToLogsOnError"
    )
    app = container("app", ports={"http": 80})
    async with running_lab(tmp_path, backoff_base=0.2, backoff_max=0.4) as lab:
        await lab.apply(_with_inits(workload("Deployment", "api", "serve", app), wait_db))

        async def crash_looping() -> dict[str, Any] | None:
            pod = await _pod(lab, "api-")
            inits = ((pod or {}).get("status") or {}).get("initContainerStatuses") or [{}]
            looping = (inits[0].get("state") or {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
            return pod if looping and inits[0]["restartCount"] >= 2 else None

        pod = await eventually(crash_looping, within=30, what="Init:CrashLoopBackOff")
        init = pod["status"]["initContainerStatuses"][0]
        ended = init["lastState"]["terminated"]
        assert (ended["exitCode"], ended["reason"], ended["message"]) == (2, "Error", "cannot reach db\n")
        assert not init["ready"]
        app_status = pod["status"]["containerStatuses"][0]
        assert app_status["state"] == {"waiting": {"reason": "PodInitializing"}} and app_status["restartCount"] == 0
        assert pod["status"]["phase"] == "Pending"
        initialized = _conditions(pod)["Initialized"]
        assert (initialized["status"], initialized["reason"]) == ("False", "ContainersNotInitialized")
        assert initialized["message"] == "containers with incomplete status: [wait-db]"
        events = await lab.events(pod["metadata"]["name"])
        backoff = [e for e in events if e["reason"] == "BackOff"]
        assert backoff and backoff[0]["involvedObject"]["fieldPath"] == "spec.initContainers{wait-db}"
        assert not [e for e in events if e["involvedObject"].get("fieldPath") == "spec.containers{app}"]
        assert not (lab.state / "logs" / f"{pod['metadata']['name']}.log").exists()  # no app process, ever


async def test_under_restart_policy_never_a_failed_init_container_fails_the_pod(tmp_path: Path) -> None:
    check = _init("check", ["sh", "-c", "exit 1"])
    async with running_lab(tmp_path) as lab:
        await lab.apply(_with_inits(workload("Job", "migrate", "job:ok", container("migrate")), check))

        async def failed() -> dict[str, Any] | None:
            pod = await _pod(lab, "migrate-")
            return pod if pod and pod["status"].get("phase") == "Failed" else None

        pod = await eventually(failed, within=30, what="the Job's pod Failed")
        init = pod["status"]["initContainerStatuses"][0]
        assert (init["state"]["terminated"]["exitCode"], init["state"]["terminated"]["reason"]) == (1, "Error")
        assert init["restartCount"] == 0 and init["lastState"] == {}
        assert pod["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}

        async def job_failed() -> bool:
            job = await lab.get(f"/apis/batch/v1/namespaces/{NS}/jobs/migrate")
            return any(c["type"] == "Failed" for c in job.get("status", {}).get("conditions", []))

        await eventually(job_failed, what="the Job Failed")


def _ctx(tmp_path: Path, ctr: dict[str, Any], mounts: dict[str, Path] | None = None) -> LaunchContext:
    return LaunchContext(
        pod_name="p",
        namespace=NS,
        workload="w",
        kind="Pod",
        container=ctr,
        env={},
        ports={},
        mounts=mounts or {},
        pod_dir=tmp_path,
        state_dir=tmp_path,
    )


async def test_the_exec_image_runs_only_what_the_container_says(tmp_path: Path) -> None:
    with pytest.raises(NoCommandError, match="no command specified"):
        await exec_image(_ctx(tmp_path, {"name": "c"}))
    with pytest.raises(ExecNotFoundError, match=r'exec: "no-such-program-here": executable file not found'):
        await exec_image(_ctx(tmp_path, {"name": "c", "command": ["no-such-program-here"]}))
    mounts = {"/etc/app": tmp_path / "cfg", "/dev/termination-log": tmp_path / "tlog"}
    spec = await exec_image(
        _ctx(
            tmp_path,
            {"name": "c", "command": ["sh", "-c"], "args": ["cat /etc/app/a; echo x > /dev/termination-log"]},
            mounts,
        )
    )
    assert spec.argv == ["sh", "-c", f"cat {tmp_path}/cfg/a; echo x > {tmp_path}/tlog"]
    text = "/etc/apple cat /etc/app/a --conf=/etc/app /x/etc/app"
    assert rewrite_paths(text, mounts) == f"/etc/apple cat {tmp_path}/cfg/a --conf={tmp_path}/cfg /x/etc/app"
