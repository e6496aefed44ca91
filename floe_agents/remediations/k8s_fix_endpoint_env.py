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

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from pydantic import Field

from floe_agents.config.platform import StorageProfile
from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.remediation import Action, Change, Params, Step, remediation
from floe_agents.remediations._kube import Json, Kube, Workload, wait_rollout
from floe_agents.remediations._kube_jobs import dry_run_then, finished, recreated_job, rerun_job

__all__ = ["FixEndpointEnvParams", "replace_url", "right_endpoint", "spec"]

CHART_NOTE = "fix the chart value too, or the next `helm upgrade` brings the wrong URL back"
_DEFAULT_PORT = {"http": 80, "https": 443}
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


def _described(fixes: Fixes) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]], list[str]]:
    before = {c: {n: old for n, (old, _) in vs.items()} for c, vs in fixes.items()}
    after = {c: {n: new for n, (_, new) in vs.items()} for c, vs in fixes.items()}
    return before, after, sorted({n for vs in fixes.values() for n in vs})


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
        await dry_run_then(kube, patch_fn, w.name, ns, body, verb="patch", what=what)
        if p.wait_seconds:
            await wait_rollout(kube, ns, w.kind, w.name, p.wait_seconds)
        return Change(action=action, before=ctx.mask(before), after=ctx.mask(after))

    return Step(action=action, run=run)


def _job_step(ctx: HealContext, kube: Kube, p: FixEndpointEnvParams, raw: Json, fixes: Fixes) -> Step:
    ns, name = p.namespace, str(raw["metadata"]["name"])
    what = f"Job {ns}/{name}"
    job = recreated_job(raw, lambda pod_spec: _with_env(pod_spec, fixes))
    before, after, names = _described(fixes)
    action = Action(
        kind="kubernetes", verb="replace", target=what, body=ctx.mask(job),
        summary=f"delete the finished {what} and create it again with {', '.join(names)} set to platform.yaml's "
        f"storage endpoint instead of {p.url} (as helm upgrade re-creates a hook Job), then wait for it to "
        f"Complete ({CHART_NOTE})",
        undo=ctx.mask(f"delete {what} and create it again with " + ", ".join(
            f"{n}={old}" for olds in before.values() for n, old in olds.items())),
    )  # fmt: skip

    async def run() -> Change:
        state = await rerun_job(kube, ns, job, p.wait_seconds)
        after_ = {**after, "job": state} if state == "Complete" else after
        return Change(action=action, before=ctx.mask(before), after=ctx.mask(after_))

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
        if finished(raw) is None:
            name = raw["metadata"]["name"]
            raise RemediationError(f"Job {ns}/{name} still runs with {params.url}: let it finish (or delete it) "
                                   f"and heal again")  # fmt: skip
        steps.append(_job_step(ctx, kube, params, raw, fixes))
    return steps
