"""``k8s.fix_endpoint_env``: point workloads whose env names a wrong S3 endpoint at platform.yaml's endpoint.

Why: the catalog's storage endpoint is not the only place a laptop-only host hides. Upstream's polaris-init hook
Job carries ``STORAGE_ENDPOINT=http://localstack:4566``, a host that is no Service, so after heal has fixed the
catalog the endpoints probe still names that pod's env as the cause ``storage-endpoint-mismatch``. The fix a
person makes is to set the variable to platform.yaml's storage endpoint (the storage profile's ``endpoint``; with
several different ones, the one on the wrong URL's port), keeping any path after the wrong URL:

- a Deployment/StatefulSet gets a strategic-merge patch of only that variable in only those containers (env lists
  merge by ``name``); the template change rolls the pods and the step waits, bounded, for the rollout;
- a *finished* Job (a hook Job: its pod template is immutable) is deleted and created again with the corrected
  env, as ``helm upgrade`` with fixed values does for a ``before-hook-creation`` hook: its spec kept, minus what
  the Job controller generated (selector, ``controller-uid``/``job-name``/``batch.kubernetes.io/*`` labels) and
  what the API server owns (status, uid, resourceVersion, creationTimestamp, managedFields). The step waits,
  bounded, for it to Complete; a Failed Job is an error quoting its pod's termination message. A running Job is
  left alone (an error: let it finish).

Only plain ``value`` variables that equal the wrong URL (or start with it) are planned: nothing when none does,
which is what makes a second heal a no-op. Every write is first sent as a server-side dry run. The chart value
that put the wrong URL there must be fixed too, or the next ``helm upgrade`` brings it back: every summary says so.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import anyio
from pydantic import Field

from floe_agents.config.platform import StorageProfile
from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.remediation import Action, Change, Params, Step, remediation
from floe_agents.remediations._kube import Json, Kube, Workload, wait_rollout

__all__ = ["FixEndpointEnvParams", "recreated_job", "replace_url", "right_endpoint", "spec"]

CHART_NOTE = "fix the chart value too, or the next `helm upgrade` brings the wrong URL back"
GONE_WAIT_S, GONE_POLL_S = 30.0, 0.2
_DEFAULT_PORT = {"http": 80, "https": 443}
_GENERATED_LABELS = ("controller-uid", "job-name")
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink",
                  "deletionTimestamp", "deletionGracePeriodSeconds")  # fmt: skip
_CONTAINER_LISTS = ("initContainers", "containers")
Fixes = dict[str, dict[str, tuple[str, str]]]  # container -> variable -> (old value, new value)


class FixEndpointEnvParams(Params):
    namespace: str = Field(min_length=1)
    url: str = Field(min_length=1, description="The wrong URL (the cause's evidence.url).")
    storage: dict[str, StorageProfile] = Field(description="platform.yaml's storage profiles.")
    wait_seconds: float = Field(180.0, ge=0, le=1800, description="Wait for each rollout/Job (0: do not wait).")


def _port(url: str) -> int | None:
    parts = urlsplit(url.strip())
    try:
        return parts.port or _DEFAULT_PORT.get(parts.scheme.lower())
    except ValueError:
        return None


def right_endpoint(storage: Mapping[str, StorageProfile], wrong: str) -> str:
    """platform.yaml's storage endpoint; of several different ones, the one on ``wrong``'s port."""
    endpoints = sorted({s.endpoint.strip().rstrip("/") for s in storage.values() if s.endpoint})
    if len(endpoints) == 1:
        return endpoints[0]
    if not endpoints:
        raise RemediationError("platform.yaml's storage profiles name no endpoint: nothing to point the env at")
    same_port = [e for e in endpoints if _port(e) == _port(wrong)]
    if len(same_port) == 1:
        return same_port[0]
    listed = ", ".join(endpoints)
    raise RemediationError(
        f"platform.yaml's storage names {len(endpoints)} endpoints ({listed}) and {len(same_port) or 'none'} "
        f"on the port of {wrong}: cannot tell which one is meant"
    )


def replace_url(value: str, wrong: str, right: str) -> str | None:
    """``value`` with the wrong URL (exactly, or as its prefix up to a path/query) replaced; None if not there.
    Scheme and host compare case-insensitively, the path exactly."""
    wrong = wrong.strip().rstrip("/")
    split = urlsplit(wrong)
    origin = f"{split.scheme}://{split.netloc}"
    text = value.strip()
    if not split.netloc or text[: len(origin)].lower() != origin.lower():
        return None
    rest = text[len(origin) :]
    if not rest.startswith(split.path):
        return None
    tail = rest[len(split.path) :]
    if tail and tail[0] not in "/?#":
        return None  # another port or host that merely begins the same way
    return right + tail


def _fixes(pod_spec: Json, wrong: str, right: str) -> Fixes:
    out: Fixes = {}
    for key in _CONTAINER_LISTS:
        for ctr in pod_spec.get(key) or []:
            for var in ctr.get("env") or []:
                value = var.get("value")
                new = replace_url(value, wrong, right) if isinstance(value, str) and "valueFrom" not in var else None
                if new is not None and new != value:
                    out.setdefault(str(ctr.get("name")), {})[str(var.get("name"))] = (value, new)
    return out


def _with_env(pod_spec: Json, fixes: Fixes) -> None:
    for key in _CONTAINER_LISTS:
        for ctr in pod_spec.get(key) or []:
            for var in ctr.get("env") or []:
                if (change := fixes.get(str(ctr.get("name")), {}).get(str(var.get("name")))) is not None:
                    var["value"] = change[1]


def _generated(key: str) -> bool:
    return key in _GENERATED_LABELS or key.startswith("batch.kubernetes.io/")


def recreated_job(raw: Json, fixes: Fixes) -> Json:
    """The Job as it would be created again with the corrected env: its spec and metadata, minus what the API
    server and the Job controller generated."""
    meta = {k: v for k, v in (raw.get("metadata") or {}).items() if k not in _SERVER_FIELDS}
    meta["labels"] = {k: v for k, v in (meta.get("labels") or {}).items() if not _generated(k)}
    spec = copy.deepcopy(raw.get("spec") or {})
    if not spec.get("manualSelector"):
        spec.pop("selector", None)
        tmeta = spec.setdefault("template", {}).setdefault("metadata", {})
        tmeta["labels"] = {k: v for k, v in (tmeta.get("labels") or {}).items() if not _generated(k)}
    _with_env(spec.setdefault("template", {}).setdefault("spec", {}), fixes)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec}


def _finished(job: Json) -> str | None:
    conditions = (job.get("status") or {}).get("conditions") or []
    return next((str(c["type"]) for c in conditions if c.get("type") in ("Complete", "Failed")
                 and c.get("status") == "True"), None)  # fmt: skip


async def _failure(kube: Kube, ns: str, job: Json) -> str:
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


def _described(fixes: Fixes) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]], list[str]]:
    before = {c: {n: old for n, (old, _) in vs.items()} for c, vs in fixes.items()}
    after = {c: {n: new for n, (_, new) in vs.items()} for c, vs in fixes.items()}
    return before, after, sorted({n for vs in fixes.values() for n in vs})


async def _dry_run_then(kube: Kube, fn: Any, *args: Any, verb: str, what: str, **kw: Any) -> Json:
    try:
        await kube.call(fn, *args, verb=verb, what=what, dry_run="All", **kw)
    except RemediationError as exc:
        raise RemediationError(f"server-side dry run refused: {exc}") from None
    return await kube.call(fn, *args, verb=verb, what=what, **kw)


def _patch_step(ctx: HealContext, kube: Kube, p: FixEndpointEnvParams, w: Workload, fixes: Fixes) -> Step:
    ns, what = p.namespace, f"{w.kind} {p.namespace}/{w.name}"
    _, _, patch_fn = kube.workload_api(w.kind)
    init = {c.name for c in w.spec.template.spec.init_containers}
    pod: Json = {}
    for cname, vars_ in fixes.items():
        env = [{"name": n, "value": new} for n, (_, new) in vars_.items()]
        pod.setdefault("initContainers" if cname in init else "containers", []).append({"name": cname, "env": env})
    body: Json = {"spec": {"template": {"spec": pod}}}
    before, after, names = _described(fixes)
    undo = "; ".join(f"kubectl -n {ns} set env {w.kind.lower()}/{w.name} -c {c} "
                     + " ".join(f"{n}={old}" for n, old in olds.items()) for c, olds in before.items())  # fmt: skip
    action = Action(
        kind="kubernetes", verb="patch", target=what, body=ctx.mask(body), undo=ctx.mask(undo),
        summary=f"set {', '.join(names)} on {what} to platform.yaml's storage endpoint instead of {p.url}, then "
        f"wait for its rollout ({CHART_NOTE})",
    )  # fmt: skip

    async def run() -> Change:
        await _dry_run_then(kube, patch_fn, w.name, ns, body, verb="patch", what=what)
        if p.wait_seconds:
            await wait_rollout(kube, ns, w.kind, w.name, p.wait_seconds)
        return Change(action=action, before=ctx.mask(before), after=ctx.mask(after))

    return Step(action=action, run=run)


def _job_step(ctx: HealContext, kube: Kube, p: FixEndpointEnvParams, raw: Json, fixes: Fixes) -> Step:
    ns, name = p.namespace, str(raw["metadata"]["name"])
    what = f"Job {ns}/{name}"
    job = recreated_job(raw, fixes)
    before, after, names = _described(fixes)
    action = Action(
        kind="kubernetes", verb="replace", target=what, body=ctx.mask(job),
        summary=f"delete the finished {what} and create it again with {', '.join(names)} set to platform.yaml's "
        f"storage endpoint instead of {p.url} (as helm upgrade re-creates a hook Job), then wait for it to "
        f"Complete ({CHART_NOTE})",
        undo=ctx.mask(f"delete {what} and create it again with " + ", ".join(
            f"{n}={old}" for olds in before.values() for n, old in olds.items())),
    )  # fmt: skip

    async def read() -> Json:
        return await kube.call(kube.batch.read_namespaced_job, name, ns, verb="get", what=what, missing_ok=True)

    async def run() -> Change:
        probe = {**job, "metadata": {**{k: v for k, v in job["metadata"].items() if k != "name"},
                                     "generateName": f"{name}-"}}  # fmt: skip
        try:  # the new body, validated before the old Job goes (its own name is still taken)
            await kube.call(kube.batch.create_namespaced_job, ns, probe, verb="create", what=what, dry_run="All")
        except RemediationError as exc:
            raise RemediationError(f"server-side dry run refused: {exc}") from None
        await _dry_run_then(kube, kube.batch.delete_namespaced_job, name, ns, verb="delete", what=what,
                            propagation_policy="Background")  # fmt: skip
        for _ in range(int(GONE_WAIT_S / GONE_POLL_S)):  # background deletion: normally gone at once
            if not await read():
                break
            await anyio.sleep(GONE_POLL_S)
        created = await _dry_run_then(kube, kube.batch.create_namespaced_job, ns, job, verb="create", what=what)
        uid = (created.get("metadata") or {}).get("uid")
        if not p.wait_seconds:
            return Change(action=action, before=ctx.mask(before), after=ctx.mask(after))

        def done(j: Json) -> bool:
            return (j.get("metadata") or {}).get("uid") == uid and _finished(j) is not None

        final: Json = {}
        with anyio.move_on_after(p.wait_seconds):
            final = await kube.wait_for(kube.batch.list_namespaced_job, read, ns, name, done)
        if not final:
            raise RemediationError(f"{what} did not finish within {p.wait_seconds:g}s")
        if _finished(final) == "Failed":
            raise RemediationError(f"{what} failed: {await _failure(kube, ns, final)}")
        return Change(action=action, before=ctx.mask(before), after=ctx.mask({**after, "job": "Complete"}))

    return Step(action=action, run=run)


def _items(listed: Json) -> Iterable[Json]:
    return (i for i in listed.get("items") or [] if isinstance(i, dict) and (i.get("metadata") or {}).get("name"))


@remediation(
    "k8s.fix_endpoint_env",
    params=FixEndpointEnvParams,
    risk="medium",
    permissions=[
        ("list", "deployments.apps"),
        ("patch", "deployments.apps"),
        ("get", "deployments.apps"),
        ("list", "statefulsets.apps"),
        ("patch", "statefulsets.apps"),
        ("get", "statefulsets.apps"),
        ("list", "jobs.batch"),
        ("get", "jobs.batch"),
        ("delete", "jobs.batch"),
        ("create", "jobs.batch"),
        ("list", "pods"),
        ("get", "pods/log"),
    ],
)
async def spec(ctx: HealContext, params: FixEndpointEnvParams) -> list[Step]:
    """Point workload env vars holding a wrong S3 endpoint at platform.yaml's (patch, or re-create a finished Job)."""
    right = right_endpoint(params.storage, params.url)
    kube, ns, steps = Kube(ctx), params.namespace, []
    for kind in ("Deployment", "StatefulSet"):
        _, list_fn, _ = kube.workload_api(kind)
        for raw in sorted(_items(await kube.call(list_fn, ns, verb="list", what=f"{kind} {ns}/*")),
                          key=lambda i: str(i["metadata"]["name"])):  # fmt: skip
            fixes = _fixes(((raw.get("spec") or {}).get("template") or {}).get("spec") or {}, params.url, right)
            if fixes:
                w = Workload.model_validate({**raw, "kind": kind})
                steps.append(_patch_step(ctx, kube, params, w, fixes))
    jobs = await kube.call(kube.batch.list_namespaced_job, ns, verb="list", what=f"Job {ns}/*")
    for raw in sorted(_items(jobs), key=lambda i: str(i["metadata"]["name"])):
        fixes = _fixes(((raw.get("spec") or {}).get("template") or {}).get("spec") or {}, params.url, right)
        if not fixes:
            continue
        if _finished(raw) is None:
            name = raw["metadata"]["name"]
            raise RemediationError(f"Job {ns}/{name} still runs with {params.url}: let it finish (or delete it) "
                                   f"and heal again")  # fmt: skip
        steps.append(_job_step(ctx, kube, params, raw, fixes))
    return steps
