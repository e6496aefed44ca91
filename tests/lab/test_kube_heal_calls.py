"""The Kubernetes calls heal makes, against the stand-in, through kubernetes_asyncio and the real kubectl.

Pinned, one test each: Secrets created, read and patched (strategic merge and JSON merge patch); ``dryRun=All``
creates and patches that validate and answer without storing anything; Leases whose stale replace is a 409;
a Deployment whose env patch and ``kubectl.kubernetes.io/restartedAt`` annotation each roll it to a new Ready
pod; a Job watched to ``Complete``; ``kubectl rollout restart`` and ``kubectl wait`` as an operator would run
them; and a body the stand-in cannot decode (protobuf) answered 415, not a parse error.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.rest import ApiException

from floe_lab.kube import KubeStore, serve
from floe_lab.kubelet import LOG_FILE_ANNOTATION
from tests.support.kubelet import NS, container, eventually, is_ready, read_text, running_lab, workload

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_secrets_are_created_read_and_patched_both_ways(kube_api: Any) -> None:
    core: Any = client.CoreV1Api(kube_api)
    body = {"metadata": {"name": "floe-demo-credentials"}, "type": "Opaque", "stringData": {"a": "1"}}
    await core.create_namespaced_secret(NS, body)
    read = await core.read_namespaced_secret("floe-demo-credentials", NS)
    assert (read.data, read.string_data) == ({"a": _b64("1")}, None)  # stringData is write-only

    strategic = await core.patch_namespaced_secret("floe-demo-credentials", NS, {"data": {"b": _b64("2")}})
    assert strategic.data == {"a": _b64("1"), "b": _b64("2")}  # a dict body is a strategic merge: keys add up
    merged = await core.patch_namespaced_secret(
        "floe-demo-credentials", NS, {"data": {"a": None}}, _content_type="application/merge-patch+json"
    )
    assert merged.data == {"b": _b64("2")}  # null deletes a key
    with_string = await core.patch_namespaced_secret("floe-demo-credentials", NS, {"stringData": {"c": "3"}})
    assert with_string.data == {"b": _b64("2"), "c": _b64("3")}


async def test_dry_run_validates_and_answers_but_stores_nothing(kube_api: Any, kube_store: KubeStore) -> None:
    core: Any = client.CoreV1Api(kube_api)
    apps: Any = client.AppsV1Api(kube_api)
    deploy = workload("Deployment", "web", "serve", container("web", env=[{"name": "A", "value": "1"}]))
    await apps.create_namespaced_deployment(NS, deploy)
    rv = kube_store.resource_version

    would_be = await core.create_namespaced_secret(
        NS, {"metadata": {"name": "s"}, "stringData": {"k": "v"}}, dry_run="All"
    )
    assert would_be.data == {"k": _b64("v")}
    env = {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "2"}]}]}}}}
    patched = await apps.patch_namespaced_deployment("web", NS, env, dry_run="All")
    assert [e.name for e in patched.spec.template.spec.containers[0].env] == ["A", "B"]  # merged by name
    assert patched.metadata.generation == 2  # the would-be object, as a real apiserver answers it

    bad = {**deploy, "metadata": {"name": "Bad_Name"}}
    with pytest.raises(ApiException) as invalid:  # validation still runs
        await apps.create_namespaced_deployment(NS, bad, dry_run="All")
    assert invalid.value.status == 422
    with pytest.raises(ApiException) as exists:
        await apps.create_namespaced_deployment(NS, deploy, dry_run="All")
    assert exists.value.status == 409

    assert kube_store.resource_version == rv  # nothing written, no watch event
    assert (await core.list_namespaced_secret(NS)).items == []
    stored = await apps.read_namespaced_deployment("web", NS)
    assert ([e.name for e in stored.spec.template.spec.containers[0].env], stored.metadata.generation) == (["A"], 1)


async def test_a_lease_is_created_and_a_stale_replace_is_409(kube_api: Any) -> None:
    leases: Any = client.CoordinationV1Api(kube_api)
    spec = {
        "holderIdentity": "heal-a",
        "leaseDurationSeconds": 300,
        "acquireTime": "2026-01-01T00:00:00.000000Z",
        "renewTime": "2026-01-01T00:00:00.000000Z",
    }
    created = await leases.create_namespaced_lease(NS, {"metadata": {"name": "floe-agents-heal"}, "spec": spec})
    assert created.spec.holder_identity == "heal-a" and created.spec.acquire_time is not None
    with pytest.raises(ApiException) as taken:  # the second heal's create-if-missing
        await leases.create_namespaced_lease(NS, {"metadata": {"name": "floe-agents-heal"}, "spec": spec})
    assert taken.value.status == 409
    stale = await leases.read_namespaced_lease("floe-agents-heal", NS)
    created.spec.renew_time = "2026-01-01T00:00:10.000000Z"
    await leases.replace_namespaced_lease("floe-agents-heal", NS, created)  # the holder renews
    stale.spec.holder_identity = "heal-b"
    with pytest.raises(ApiException) as conflict:
        await leases.replace_namespaced_lease("floe-agents-heal", NS, stale)  # a takeover from an old read
    assert conflict.value.status == 409
    assert (await leases.read_namespaced_lease("floe-agents-heal", NS)).spec.holder_identity == "heal-a"


async def test_a_body_the_stand_in_cannot_decode_is_415(kube_url: str, kube_token: str, kube_api: Any) -> None:
    headers = {"Authorization": f"Bearer {kube_token}", "Content-Type": "application/vnd.kubernetes.protobuf"}
    async with httpx.AsyncClient(base_url=kube_url) as http:
        answer = await http.post(f"/api/v1/namespaces/{NS}/secrets", content=b"k8s\x00\n\x0c\n\x02v1", headers=headers)
    assert answer.status_code == 415
    assert answer.json()["reason"] == "UnsupportedMediaType"


async def _ready_pod(lab: Any, prefix: str, *, not_named: set[str], log_has: str = "") -> dict[str, Any] | None:
    for pod in await lab.pods(prefix):
        log_file = (pod["metadata"].get("annotations") or {}).get(LOG_FILE_ANNOTATION)
        if pod["metadata"]["name"] in not_named or not is_ready(pod) or not log_file:
            continue
        if log_has in read_text(log_file):
            return dict(pod)
    return None


async def test_env_patch_and_restarted_at_each_roll_to_a_new_ready_pod(tmp_path: Path) -> None:
    from floe_lab import procs  # noqa: PLC0415

    env = [{"name": "APP_MODE", "value": "one"}]
    async with running_lab(tmp_path, ports={"roll": {"http": procs.free_port()}}) as lab:
        apps: Any = client.AppsV1Api(lab.api_client)
        await apps.create_namespaced_deployment(
            NS, workload("Deployment", "roll", "serve", container("roll", ports={"http": 80}, env=env))
        )
        first = await eventually(lambda: _ready_pod(lab, "roll-", not_named=set()), within=60, what="first pod")
        patch = {
            "spec": {"template": {"spec": {"containers": [{"name": "roll", "env": [{"name": "APP_X", "value": "2"}]}]}}}
        }
        await apps.patch_namespaced_deployment("roll", NS, patch)  # strategic merge: env merged by name
        second = await eventually(
            lambda: _ready_pod(lab, "roll-", not_named={first["metadata"]["name"]}, log_has="'APP_X': '2'"),
            what="pod with the new env",
        )
        assert "'APP_MODE': 'one'" in read_text(second["metadata"]["annotations"][LOG_FILE_ANNOTATION])

        restart = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: "2026-12-04T20:00:00Z"}}}}}
        await apps.patch_namespaced_deployment("roll", NS, restart)  # what `kubectl rollout restart` sends
        seen = {first["metadata"]["name"], second["metadata"]["name"]}
        third = await eventually(lambda: _ready_pod(lab, "roll-", not_named=seen), what="restarted pod")
        assert third["metadata"]["annotations"][RESTARTED_AT] == "2026-12-04T20:00:00Z"

        async def only(name: str) -> bool:
            return [p["metadata"]["name"] for p in await lab.pods("roll-")] == [name]

        await eventually(lambda: only(third["metadata"]["name"]), what="old pods gone")


async def test_a_job_is_created_and_watched_to_complete(tmp_path: Path) -> None:
    async with running_lab(tmp_path) as lab:
        batch: Any = client.BatchV1Api(lab.api_client)
        await batch.create_namespaced_job(NS, workload("Job", "once", "job:ok", container("once")))
        outcome = "timeout"
        async with watch.Watch().stream(
            batch.list_namespaced_job, NS, field_selector="metadata.name=once", timeout_seconds=60
        ) as stream:
            async for event in stream:
                terminal = [c.type for c in event["object"].status.conditions or [] if c.status == "True"]
                if "Complete" in terminal or "Failed" in terminal:
                    outcome = "Complete" if "Complete" in terminal else "Failed"
                    break
        assert outcome == "Complete"


def _kubectl(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("kubectl")
    assert exe is not None
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "KUBECONFIG": str(home / "no-kubeconfig")}
    return subprocess.run(
        [exe, "--server", url, "-n", NS, *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
async def test_kubectl_rollout_restart_and_wait_against_the_stand_in(tmp_path: Path) -> None:
    from floe_lab import procs  # noqa: PLC0415

    store = KubeStore()
    async with (
        running_lab(tmp_path, store=store, ports={"web": {"http": procs.free_port()}}) as lab,
        serve(store) as open_url,  # kubectl sends no token over plain HTTP: the same store, served without auth
    ):
        await lab.apply(
            workload("Deployment", "web", "serve", container("web", ports={"http": 80})),
            workload("Job", "once", "job:ok", container("once")),
        )
        first = await eventually(lambda: _ready_pod(lab, "web-", not_named=set()), within=60, what="first pod")

        def operator() -> list[subprocess.CompletedProcess[str]]:
            return [
                _kubectl(open_url, tmp_path, "wait", "--for=condition=complete", "job/once", "--timeout=60s"),
                _kubectl(open_url, tmp_path, "rollout", "restart", "deployment/web"),
                _kubectl(open_url, tmp_path, "rollout", "status", "deployment/web", "--timeout=60s"),
            ]

        waited, restarted, rolled = await anyio.to_thread.run_sync(operator)
        assert waited.returncode == 0, waited.stderr
        assert restarted.stdout.strip() == "deployment.apps/web restarted", restarted.stderr
        assert rolled.returncode == 0 and "successfully rolled out" in rolled.stdout, rolled.stderr
        deploy = await client.AppsV1Api(lab.api_client).read_namespaced_deployment("web", NS)
        assert RESTARTED_AT in deploy.spec.template.metadata.annotations
        assert await _ready_pod(lab, "web-", not_named={first["metadata"]["name"]}) is not None
        got = await anyio.to_thread.run_sync(lambda: _kubectl(open_url, tmp_path, "get", "deploy", "web", "-o", "json"))
        assert json.loads(got.stdout)["metadata"]["generation"] == 2  # (in a thread: the server needs the loop)


async def test_a_job_past_its_deadline_fails_and_a_finished_one_goes_after_its_ttl(tmp_path: Path) -> None:
    async with running_lab(tmp_path) as lab:
        batch: Any = client.BatchV1Api(lab.api_client)
        slow = workload("Job", "slow", "serve", container("slow", ports={"http": 80}))  # never exits by itself
        slow["spec"]["activeDeadlineSeconds"] = 1
        brief = workload("Job", "brief", "job:ok", container("brief"))
        brief["spec"]["ttlSecondsAfterFinished"] = 0
        await batch.create_namespaced_job(NS, slow)
        await batch.create_namespaced_job(NS, brief)

        async def failed_reason() -> str | None:
            conditions = (await lab.get(f"/apis/batch/v1/namespaces/{NS}/jobs/slow")).get("status", {})
            found = [c["reason"] for c in conditions.get("conditions", []) if c["type"] == "Failed"]
            return found[0] if found else None

        assert await eventually(failed_reason, within=60, what="the deadline") == "DeadlineExceeded"

        async def gone() -> bool:
            jobs = (await lab.get(f"/apis/batch/v1/namespaces/{NS}/jobs"))["items"]
            return "brief" not in [j["metadata"]["name"] for j in jobs] and not await lab.pods("brief-")

        await eventually(gone, within=60, what="the finished Job deleted by its TTL")
        assert "Completed" in [e["reason"] for e in await lab.events("brief")]  # it did finish first
        await eventually(lambda: _no_pods(lab, "slow-"), within=60, what="the overdue pod deleted")


async def _no_pods(lab: Any, prefix: str) -> bool:
    return not await lab.pods(prefix)
