"""Process lifecycles as Kubernetes reports them: crash loops, Jobs, unknown images, adopted processes."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import anyio
from kubernetes_asyncio import client

from floe_lab import procs
from floe_lab.kubelet import Kubelet
from tests.support.kubelet import (
    LAUNCHERS,
    NS,
    TOKEN,
    answer,
    container,
    container_status,
    eventually,
    is_ready,
    process_exists,
    py,
    running_api,
    running_lab,
    waiting_reason,
    workload,
)
from tests.support.processes import first_line

ROOT = str(Path(__file__).resolve().parents[2])


async def _pod(lab: Any, prefix: str) -> dict[str, Any] | None:
    pods = await lab.pods(prefix)
    return pods[0] if pods else None


async def test_a_crashing_process_is_restarted_with_back_off(tmp_path: Path) -> None:
    async with running_lab(tmp_path) as lab:
        await lab.apply(workload("Deployment", "crasher", "crash", container("crasher")))

        async def crash_looping() -> dict[str, Any] | None:
            pod = await _pod(lab, "crasher-")
            status = container_status(pod or {})
            return pod if waiting_reason(pod or {}) == "CrashLoopBackOff" and status["restartCount"] >= 2 else None

        pod = await eventually(crash_looping, what="CrashLoopBackOff after restarts")
        status = container_status(pod)
        name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
        assert status["lastState"]["terminated"]["exitCode"] == 3
        assert status["lastState"]["terminated"]["reason"] == "Error"
        message = status["state"]["waiting"]["message"]
        assert message.startswith("back-off ")
        assert message.endswith(f"restarting failed container=crasher pod={name}_{NS}({uid})")
        assert pod["status"]["phase"] == "Running" and not is_ready(pod)
        backoff = [e for e in await lab.events(name) if e["reason"] == "BackOff"]
        assert backoff and backoff[0]["type"] == "Warning"
        assert backoff[0]["message"] == f"Back-off restarting failed container crasher in pod {name}_{NS}({uid})"

        async def restarted() -> bool:  # the process really started more than once
            return any(e["reason"] == "Started" and e["count"] >= 2 for e in await lab.events(name))

        await eventually(restarted, what="Started event counted more than once")


async def test_jobs_complete_or_fail_by_exit_code_and_rerun_when_recreated(tmp_path: Path) -> None:
    async with running_lab(tmp_path) as lab:
        await lab.apply(
            workload("Job", "seed", "job:ok", container("seed")),
            workload("Job", "broken", "job:fail", container("broken")),
        )

        async def conditions(name: str) -> dict[str, Any]:
            job = await lab.get(f"/apis/batch/v1/namespaces/{NS}/jobs/{name}")
            return {c["type"]: c for c in job.get("status", {}).get("conditions", []) if c["status"] == "True"}

        async def finished(name: str) -> dict[str, Any] | None:
            job = await lab.get(f"/apis/batch/v1/namespaces/{NS}/jobs/{name}")
            done = {c["type"] for c in job.get("status", {}).get("conditions", []) if c["status"] == "True"}
            return job if done & {"Complete", "Failed"} else None

        ok = await eventually(lambda: finished("seed"), what="seed Job finished")
        assert ok["status"]["succeeded"] == 1 and ok["status"]["startTime"] and ok["status"]["completionTime"]
        assert set(await conditions("seed")) == {"SuccessCriteriaMet", "Complete"}
        bad = await eventually(lambda: finished("broken"), what="broken Job finished")
        assert bad["status"]["failed"] == 1 and "completionTime" not in bad["status"]
        failed = (await conditions("broken"))["Failed"]
        assert failed["reason"] == "BackoffLimitExceeded"
        assert failed["message"] == "Job has reached the specified backoff limit"

        typed = await client.BatchV1Api(lab.api_client).read_namespaced_job_status("seed", NS)  # what cluster_ops reads
        assert [c.type for c in typed.status.conditions if c.status == "True"] == ["SuccessCriteriaMet", "Complete"]
        typed_pods = await client.CoreV1Api(lab.api_client).list_namespaced_pod(NS, label_selector="job-name=broken")
        assert typed_pods.items[0].status.container_statuses[0].state.terminated.exit_code == 1
        seed_pod = await _pod(lab, "seed-")
        assert seed_pod is not None and seed_pod["status"]["phase"] == "Succeeded"
        assert seed_pod["metadata"]["labels"]["job-name"] == "seed"
        assert container_status(seed_pod)["state"]["terminated"]["reason"] == "Completed"
        broken_pod = await _pod(lab, "broken-")
        assert broken_pod is not None and broken_pod["status"]["phase"] == "Failed"
        assert container_status(broken_pod)["state"]["terminated"]["exitCode"] == 1
        job_events = {e["reason"] for e in await lab.events("broken") if e["involvedObject"]["kind"] == "Job"}
        assert {"SuccessfulCreate", "BackoffLimitExceeded"} <= job_events

        await lab.delete(f"/apis/batch/v1/namespaces/{NS}/jobs/seed?propagationPolicy=Background")
        await eventually(lambda: _gone(lab, "seed-"), what="seed pods collected")
        await lab.apply(workload("Job", "seed", "job:ok", container("seed")))
        rerun = await eventually(lambda: finished("seed"), what="recreated Job finished")
        assert rerun["status"]["succeeded"] == 1
        assert rerun["metadata"]["uid"] != ok["metadata"]["uid"]


async def _gone(lab: Any, prefix: str) -> bool:
    return not await lab.pods(prefix)


async def test_an_unknown_launcher_looks_like_an_image_that_cannot_be_pulled(tmp_path: Path) -> None:
    async with running_lab(tmp_path) as lab:
        await lab.apply(workload("Deployment", "ghost", "no-such-launcher", container("ghost")))

        async def backoff() -> dict[str, Any] | None:
            pod = await _pod(lab, "ghost-")
            return pod if waiting_reason(pod or {}) == "ImagePullBackOff" else None

        pod = await eventually(backoff, what="ImagePullBackOff")
        assert container_status(pod)["state"]["waiting"]["message"] == 'Back-off pulling image "floe-lab/ghost:local"'
        messages = [e["message"] for e in await lab.events(pod["metadata"]["name"]) if e["reason"] == "Failed"]
        pull = [m for m in messages if m.startswith('Failed to pull image "floe-lab/ghost:local": ')]
        assert pull and pull[0].endswith("docker.io/floe-lab/ghost:local: not found")
        assert "Error: ImagePullBackOff" in messages


async def test_adopted_process_is_mirrored_not_restarted(tmp_path: Path) -> None:
    port = procs.free_port()
    server = f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(60)"
    async with running_lab(tmp_path) as lab:
        rec = await procs.start(
            lab.state, procs.ProcSpec(name="pgsql", argv=py(server), ports={"tcp": port}, ready=[procs.TcpReady(port)])
        )
        try:
            await lab.apply(workload("StatefulSet", "pg", "adopt:pgsql", container("pg", ports={"tcp": 5432})))

            async def ready() -> dict[str, Any] | None:
                pod = await _pod(lab, "pg-")
                return pod if pod and is_ready(pod) else None

            pod = await eventually(ready, what="adopted pod Ready")
            assert container_status(pod)["restartCount"] == 0
            os.kill(rec.pid, signal.SIGKILL)

            async def died() -> dict[str, Any] | None:
                current = await _pod(lab, "pg-")
                return current if waiting_reason(current or {}) == "CrashLoopBackOff" else None

            dead = await eventually(died, what="adopted death shown")
            status = container_status(dead)
            assert status["restartCount"] == 1 and "terminated" in status["lastState"] and not status["ready"]
            await anyio.sleep(0.5)
            assert await answer(port) is None  # the kubelet did not restart it: not its process
        finally:
            await procs.stop(lab.state, rec)


async def test_the_kubelet_as_a_process_stops_its_pods_on_sigterm(tmp_path: Path) -> None:
    port = procs.free_port()
    async with running_api(tmp_path, ports={"svc": {"http": port}}) as lab:
        command = [
            sys.executable,
            "-m",
            "floe_lab.kubelet",
            "--api",
            lab.url,
            "--state",
            str(lab.state),
            "--launchers",
            "tests.support.kubelet:launchers",
        ]
        process = await anyio.open_process(command, env={**os.environ, "FLOE_LAB_KUBE_TOKEN": TOKEN}, cwd=ROOT)
        try:
            assert process.stdout is not None
            with anyio.fail_after(20):
                assert await first_line(process.stdout) == "READY"
            await lab.apply(workload("Deployment", "svc", "serve", container("svc", ports={"http": 80})))
            pid = await eventually(lambda: answer(port), what="pod process answering")
            process.terminate()
            with anyio.fail_after(15):
                assert await process.wait() == 0
            assert await answer(port) is None
            assert not process_exists(pid)
            assert procs.leftover_pids(lab.state) == []
        finally:
            with anyio.CancelScope(shield=True):
                if process.returncode is None:
                    process.kill()
                await process.aclose()


async def test_leaving_the_kubelet_stops_its_processes_but_not_adopted_ones(tmp_path: Path) -> None:
    web, db = procs.free_port(), procs.free_port()
    server = f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1', {db})); s.listen(); time.sleep(60)"
    async with running_api(tmp_path, ports={"web": {"http": web}}) as lab:
        rec = await procs.start(
            lab.state, procs.ProcSpec(name="pgsql", argv=py(server), ports={"tcp": db}, ready=[procs.TcpReady(db)])
        )
        try:
            async with Kubelet(lab.url, TOKEN, lab.state, LAUNCHERS, backoff_base=0.2):
                await lab.apply(
                    workload("Deployment", "web", "serve", container("web", ports={"http": 80})),
                    workload("StatefulSet", "pg", "adopt:pgsql", container("pg", ports={"tcp": 5432})),
                    workload("Deployment", "crasher", "crash", container("crasher")),
                )

                async def all_up() -> bool:
                    pods = await lab.pods()
                    ready = {p["metadata"]["name"].split("-")[0] for p in pods if is_ready(p)}
                    crashing = any(container_status(p).get("restartCount", 0) >= 1 for p in pods)
                    return {"web", "pg"} <= ready and crashing

                await eventually(all_up, what="web and pg Ready, crasher restarting")
            assert await answer(web) is None  # ours: stopped
            assert procs.is_alive(rec)  # adopted: someone else's, left running
            assert set(procs.leftover_pids(lab.state)) == set(procs.live_pids(rec))
        finally:
            await procs.stop(lab.state, rec)
