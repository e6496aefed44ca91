"""Running a finished Job again, as ``helm upgrade`` runs a hook Job again: what two remediations share.

Why here, once: a Job's pod template is immutable, so "run it again" (unchanged, or with a corrected env) is
always the same dance — the body it would be created with (its spec and metadata minus what the API server and
the Job controller generated: status, uid, resourceVersion, the selector and ``controller-uid``/``job-name``/
``batch.kubernetes.io/*`` labels), validated by a server-side dry run *before* the old Job goes (its name is still
taken, so the dry run uses ``generateName``), the old Job deleted in the background and waited out, the new one
created and waited for, bounded, until it Completes. A Job that fails again is an error quoting its Failed
condition, its pod's termination message and its log tail: the heal stops with the server's own words.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import anyio

from floe_agents.heal_context import RemediationError
from floe_agents.remediations._kube import Json, Kube

__all__ = ["dry_run_then", "failure", "finished", "recreated_job", "rerun_job"]

GONE_WAIT_S, GONE_POLL_S = 30.0, 0.2
_GENERATED_LABELS = ("controller-uid", "job-name")
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink",
                  "deletionTimestamp", "deletionGracePeriodSeconds")  # fmt: skip


def _generated(key: str) -> bool:
    return key in _GENERATED_LABELS or key.startswith("batch.kubernetes.io/")


def recreated_job(raw: Json, edit: Callable[[Json], None] | None = None) -> Json:
    """The Job as it would be created again — its spec and metadata minus what the API server and the Job
    controller generated — with ``edit`` applied to a copy of its pod spec. ``raw`` is left untouched."""
    meta = {k: v for k, v in (raw.get("metadata") or {}).items() if k not in _SERVER_FIELDS}
    meta["labels"] = {k: v for k, v in (meta.get("labels") or {}).items() if not _generated(k)}
    spec = copy.deepcopy(raw.get("spec") or {})
    if not spec.get("manualSelector"):
        spec.pop("selector", None)
        tmeta = spec.setdefault("template", {}).setdefault("metadata", {})
        tmeta["labels"] = {k: v for k, v in (tmeta.get("labels") or {}).items() if not _generated(k)}
    if edit is not None:
        edit(spec.setdefault("template", {}).setdefault("spec", {}))
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec}


def finished(job: Json) -> str | None:
    """``Complete`` or ``Failed`` when the Job has ended, else None (running, or not started)."""
    conditions = (job.get("status") or {}).get("conditions") or []
    return next((str(c["type"]) for c in conditions if c.get("type") in ("Complete", "Failed")
                 and c.get("status") == "True"), None)  # fmt: skip


async def failure(kube: Kube, ns: str, job: Json) -> str:
    """Why the Job failed: its Failed condition, and its last pod's termination message and log tail."""
    failed: Json = next((c for c in (job.get("status") or {}).get("conditions") or [] if c.get("type") == "Failed"),
                        {})  # fmt: skip
    why = f"{failed.get('reason') or 'Failed'}: {failed.get('message') or ''}".strip(": ")
    uid = (job.get("metadata") or {}).get("uid")
    pods = await kube.call(kube.core.list_namespaced_pod, ns, verb="list", what=f"Pod {ns}/*")
    owned = sorted((p for p in pods.get("items") or []
                    if any(o.get("uid") == uid for o in p["metadata"].get("ownerReferences") or [])),
                   key=lambda p: str(p["metadata"].get("creationTimestamp")))  # fmt: skip
    if not owned:
        return why
    statuses = (owned[-1].get("status") or {}).get("containerStatuses") or []
    ended = [s.get("state", {}).get("terminated") or s.get("lastState", {}).get("terminated") or {} for s in statuses]
    message = next((str(t["message"]) for t in ended if t.get("message")), "")
    tail = await kube.log_tail(ns, owned[-1]["metadata"]["name"])
    parts = (why, f"termination message: {message}" if message else "", f"log: {tail}" if tail else "")
    return "; ".join(x for x in parts if x)


async def dry_run_then(kube: Kube, fn: Any, *args: Any, verb: str, what: str, **kw: Any) -> Json:
    """The write, after the same write as a server-side dry run was accepted (admission, quota, validation)."""
    try:
        await kube.call(fn, *args, verb=verb, what=what, dry_run="All", **kw)
    except RemediationError as exc:
        raise RemediationError(f"server-side dry run refused: {exc}") from None
    return await kube.call(fn, *args, verb=verb, what=what, **kw)


async def rerun_job(kube: Kube, ns: str, job: Json, wait_seconds: float) -> str:
    """Delete the Job named by ``job`` and create ``job`` in its place; wait up to ``wait_seconds`` (0: not at all)
    for it to Complete. Returns ``Complete`` (or ``created`` when not waiting); raises when it fails or does not
    finish in time."""
    name = str(job["metadata"]["name"])
    what = f"Job {ns}/{name}"

    async def read() -> Json:
        return await kube.call(kube.batch.read_namespaced_job, name, ns, verb="get", what=what, missing_ok=True)

    trial = {**job, "metadata": {**{k: v for k, v in job["metadata"].items() if k != "name"},
                                 "generateName": f"{name}-"}}  # fmt: skip
    try:  # the new body, validated before the old Job goes (its own name is still taken)
        await kube.call(kube.batch.create_namespaced_job, ns, trial, verb="create", what=what, dry_run="All")
    except RemediationError as exc:
        raise RemediationError(f"server-side dry run refused: {exc}") from None
    await dry_run_then(kube, kube.batch.delete_namespaced_job, name, ns, verb="delete", what=what,
                       propagation_policy="Background")  # fmt: skip
    for _ in range(int(GONE_WAIT_S / GONE_POLL_S)):  # background deletion: normally gone at once
        if not await read():
            break
        await anyio.sleep(GONE_POLL_S)
    created = await dry_run_then(kube, kube.batch.create_namespaced_job, ns, job, verb="create", what=what)
    if not wait_seconds:
        return "created"
    uid = (created.get("metadata") or {}).get("uid")

    def done(j: Json) -> bool:
        return (j.get("metadata") or {}).get("uid") == uid and finished(j) is not None

    final: Json = {}
    with anyio.move_on_after(wait_seconds):
        final = await kube.wait_for(kube.batch.list_namespaced_job, read, ns, name, done)
    if not final:
        raise RemediationError(f"{what} did not finish within {wait_seconds:g}s")
    if finished(final) == "Failed":
        raise RemediationError(f"{what} failed: {await failure(kube, ns, final)}")
    return "Complete"
