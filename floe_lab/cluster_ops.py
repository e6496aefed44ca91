"""Talking to the lab cluster like ``helm install`` and ``kubectl wait`` would, through the real client.

Applying objects, waiting for the workloads to settle, and running the hook Jobs in weight order all go through
``kubernetes_asyncio`` against the lab's API server: the lab is driven the way a real cluster is, and the
states it reaches (a Job Failed, a pod in CreateContainerConfigError) are the API's, set by the kubelet.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from kubernetes_asyncio import client, utils

from floe_lab.kube.client import client_configuration

__all__ = ["STUCK_REASONS", "api", "apply_objects", "pod_states", "run_hook_jobs", "wait_settled"]

Say = Callable[[str], None]
# Waiting reasons that will not resolve by themselves: a workload in one of them has "settled" (badly).
STUCK_REASONS = frozenset({"CreateContainerConfigError", "CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull"})


@asynccontextmanager
async def api(url: str, token: str) -> AsyncIterator[client.ApiClient]:
    async with client.ApiClient(client_configuration(url, token)) as api_client:
        yield api_client


async def apply_objects(url: str, token: str, objects: list[dict[str, Any]], namespace: str) -> None:
    async with api(url, token) as api_client:
        for obj in objects:
            await utils.create_from_dict(api_client, obj, namespace=namespace)


def _pod_state(pod: dict[str, Any]) -> tuple[bool, str | None]:
    """(ready, stuck reason) of a pod, from its JSON."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    ready = bool(statuses) and all(s.get("ready") for s in statuses)
    for s in statuses:
        reason = ((s.get("state") or {}).get("waiting") or {}).get("reason")
        if reason in STUCK_REASONS:
            return ready, str(reason)
    return ready, None


async def _pods(core: client.CoreV1Api, namespace: str, **query: Any) -> list[dict[str, Any]]:
    """The namespace's pods as plain JSON: the client's models cost ~50 ms of CPU per list (dates parsed, every
    field built), and these lists are polled four times a second while the lab comes up."""
    response: Any = await core.list_namespaced_pod(namespace, _preload_content=False, **query)  # the raw HTTP answer
    try:
        items: list[dict[str, Any]] = json.loads(await response.read()).get("items") or []
    finally:
        response.release()
    return items


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _owned_by_a_job(pod: dict[str, Any]) -> bool:
    return any(ref.get("kind") == "Job" for ref in (pod.get("metadata") or {}).get("ownerReferences") or [])


async def pod_states(url: str, token: str, namespace: str) -> dict[str, tuple[str, bool, str | None]]:
    """pod name -> (phase, ready, stuck reason), in ``namespace``."""
    async with api(url, token) as api_client:
        pods = await _pods(client.CoreV1Api(api_client), namespace)
    return {_name(p): (str((p.get("status") or {}).get("phase") or "Pending"), *_pod_state(p)) for p in pods}


async def wait_settled(url: str, token: str, namespace: str, say: Say, *, deadline_s: float) -> None:
    """Until every Deployment/StatefulSet pod is Ready or stuck for good (or the deadline passes)."""
    t0 = time.monotonic()
    async with api(url, token) as api_client:
        apps = client.AppsV1Api(api_client)
        core = client.CoreV1Api(api_client)
        expected = len((await apps.list_namespaced_deployment(namespace)).items) + len(
            (await apps.list_namespaced_stateful_set(namespace)).items
        )
        reported: set[str] = set()
        while time.monotonic() - t0 < deadline_s:
            pods = [p for p in await _pods(core, namespace) if not _owned_by_a_job(p)]
            settled = 0
            for pod in pods:
                ready, stuck = _pod_state(pod)
                if ready or stuck:
                    settled += 1
                    if _name(pod) not in reported:
                        reported.add(_name(pod))
                        say(f"pod {_name(pod)}: {'Ready' if ready else stuck} ({time.monotonic() - t0:.1f}s)")
            if len(pods) >= expected and settled == len(pods):
                return
            await anyio.sleep(0.25)
    say(f"warning: not every workload settled within {deadline_s:g}s")


async def _job_outcome(batch: client.BatchV1Api, core: client.CoreV1Api, name: str, namespace: str) -> str | None:
    job = await batch.read_namespaced_job_status(name, namespace)
    for cond in job.status.conditions or []:
        if cond.status == "True" and cond.type in ("Complete", "Failed"):
            return str(cond.type)
    for pod in await _pods(core, namespace, label_selector=f"job-name={name}"):
        _, stuck = _pod_state(pod)
        if stuck:
            return stuck
    return None


async def run_hook_jobs(
    url: str, token: str, jobs: list[dict[str, Any]], namespace: str, say: Say, *, per_job_s: float = 90.0
) -> dict[str, str]:
    """Create each hook Job in order and wait for its outcome; a Job that cannot finish is reported, not fatal."""
    results: dict[str, str] = {}
    async with api(url, token) as api_client:
        batch, core = client.BatchV1Api(api_client), client.CoreV1Api(api_client)
        for obj in jobs:
            name = obj["metadata"]["name"]
            t0 = time.monotonic()
            await utils.create_from_dict(api_client, obj, namespace=namespace)
            outcome = None
            while outcome is None and time.monotonic() - t0 < per_job_s:
                await anyio.sleep(0.25)
                outcome = await _job_outcome(batch, core, name, namespace)
            results[name] = outcome or "Timeout"
            say(f"hook job {name}: {results[name]} ({time.monotonic() - t0:.1f}s)")
    return results
