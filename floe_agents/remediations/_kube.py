"""What the Kubernetes remediations share: one way to call the API, the objects they read, and waiting.

Why a helper of their own (and not the probes' reader): a remediation writes, so a refused call must become the
heal engine's vocabulary — :class:`NotPermittedError` naming the verb and resource the heal Role lacks, else one
:class:`RemediationError` line — and a 404 must be a plain "absent" the plan can act on. Calls are made raw
(``_preload_content=False``) through the ``kubernetes_asyncio`` client the run opened from the targets file,
and the JSON is read into small typed models (``_kube_models``: only the fields a plan decides on), so an odd
answer is a model default, never a traceback. Waiting (a rollout, a Job) watches the object, bounded by the
caller's deadline, and re-reads it whenever the watch ends, so a dropped watch costs a round trip, not the wait.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import anyio

from floe_agents.heal_context import HealContext, NotPermittedError, RemediationError
from floe_agents.remediation import Action, Change, Step
from floe_agents.remediations._kube_access import need_of
from floe_agents.remediations._kube_models import (
    EnvVar,
    Pod,
    PodSpec,
    Workload,
    WorkloadKind,
    later,
    now_rfc3339,
    parse_time,
    references,
    rollout_pending,
)
from floe_agents.text import printable

__all__ = [
    "RESTARTED_AT",
    "EnvVar",
    "Json",
    "Kube",
    "Pod",
    "PodSpec",
    "Workload",
    "WorkloadKind",
    "later",
    "now_rfc3339",
    "parse_time",
    "references",
    "restart_step",
    "rollout_pending",
    "wait_rollout",
]

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REQUEST_TIMEOUT_S = 10.0
WATCH_CHUNK_S = 5  # a watch is re-opened (after a fresh read) at least this often
Json: TypeAlias = dict[str, Any]
ApiCall: TypeAlias = Callable[..., Awaitable[Any]]


class Kube:
    """The core, apps and batch APIs of the run's client, and one call that says why it failed."""

    def __init__(self, ctx: HealContext) -> None:
        from kubernetes_asyncio import client  # noqa: PLC0415 - ~1 s to import: only a heal with a cluster pays

        api = ctx.require_kube()
        self.ctx = ctx
        self.core: Any = client.CoreV1Api(api)
        self.apps: Any = client.AppsV1Api(api)
        self.batch: Any = client.BatchV1Api(api)

    async def call(self, fn: ApiCall, *args: Any, verb: str, what: str, missing_ok: bool = False, **kw: Any) -> Json:
        """``fn(*args, **kw)`` raw; its JSON, or ``{}`` for a 404 when ``missing_ok``. ``what``: 'Secret ns/x'."""
        import aiohttp  # noqa: PLC0415 - loaded with the Kubernetes client

        try:
            with anyio.fail_after(REQUEST_TIMEOUT_S + 1):
                resp = await fn(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_S, **kw)
                try:
                    body = await resp.read()
                finally:
                    resp.release()
        except TimeoutError:
            raise RemediationError(
                f"{verb} {what}: no answer from the Kubernetes API in {REQUEST_TIMEOUT_S:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            raise RemediationError(self.ctx.mask(f"{verb} {what}: {type(exc).__name__}: {exc}")) from None
        status = int(resp.status)
        if status == 404 and missing_ok:
            return {}
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            data = {"message": printable(body, 200)}
        if 200 <= status < 300 and isinstance(data, dict):
            return data
        message = self.ctx.mask(printable(str(data.get("message", "")) if isinstance(data, dict) else "", 300))
        if status in (401, 403):
            need = need_of(verb, what)
            if need is None or status == 401:
                raise NotPermittedError(verb, what.split(" ", 1)[0].lower() + "s", message)
            raise NotPermittedError(verb, need.text.removeprefix(f"{verb} on "))
        raise RemediationError(f"{verb} {what}: HTTP {status} {message}".strip())

    async def log_tail(self, ns: str, pod: str, lines: int = 20) -> str:
        """The last ``lines`` of ``pod``'s log, masked and printable ('' when the API will not give it)."""
        try:
            with anyio.fail_after(REQUEST_TIMEOUT_S + 1):
                resp = await self.core.read_namespaced_pod_log(
                    pod, ns, tail_lines=lines, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_S
                )
                try:
                    body = await resp.read() if 200 <= int(resp.status) < 300 else b""
                finally:
                    resp.release()
        except Exception:  # the log is a courtesy in an error message: its absence is not another error
            return ""
        return str(self.ctx.mask(printable(body.decode("utf-8", "replace")[-1500:], 1500)))

    def workload_api(self, kind: WorkloadKind) -> tuple[ApiCall, ApiCall, ApiCall]:
        """(read, list, patch) of ``kind``."""
        suffix = "deployment" if kind == "Deployment" else "stateful_set"
        return (
            getattr(self.apps, f"read_namespaced_{suffix}"),
            getattr(self.apps, f"list_namespaced_{suffix}"),
            getattr(self.apps, f"patch_namespaced_{suffix}"),
        )

    async def workload(self, kind: WorkloadKind, ns: str, name: str) -> Workload | None:
        read, _, _ = self.workload_api(kind)
        raw = await self.call(read, name, ns, verb="get", what=f"{kind} {ns}/{name}", missing_ok=True)
        return Workload.model_validate({**raw, "kind": kind}) if raw else None

    async def workloads(self, ns: str, label_selector: str | None = None) -> list[Workload]:
        """Every Deployment and StatefulSet in ``ns`` (matching ``label_selector`` if given), by kind then name."""
        out: list[Workload] = []
        for kind in ("Deployment", "StatefulSet"):
            _, list_fn, _ = self.workload_api(kind)
            kw: dict[str, Any] = {"label_selector": label_selector} if label_selector else {}
            listed = await self.call(list_fn, ns, verb="list", what=f"{kind} {ns}/*", **kw)
            items = [i for i in listed.get("items") or [] if isinstance(i, dict)]
            out += sorted((Workload.model_validate({**i, "kind": kind}) for i in items), key=lambda w: w.name)
        return out

    async def pods_of(self, ns: str, w: Workload) -> list[Pod]:
        """The live pods ``w`` selects (by its selector's matchLabels)."""
        labels = w.spec.selector.match_labels
        if not labels:
            return []
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        listed = await self.call(self.core.list_namespaced_pod, ns, verb="list", what=f"Pod {ns}/*",
                                 label_selector=selector)  # fmt: skip
        pods = [Pod.model_validate(i) for i in listed.get("items") or [] if isinstance(i, dict)]
        return [p for p in pods if p.status.phase not in ("Succeeded", "Failed")]

    async def wait_for(
        self, list_fn: ApiCall, read: Callable[[], Awaitable[Json]], ns: str, name: str, done: Callable[[Json], bool]
    ) -> Json:
        """Until ``done(object)``: read it, then watch it (re-reading whenever a watch ends). Unbounded: the
        caller bounds it (``anyio.fail_after``) and names what timed out."""
        from kubernetes_asyncio import watch  # noqa: PLC0415

        while True:
            obj = await read()
            if done(obj):
                return obj
            version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
            try:
                async with watch.Watch().stream(
                    list_fn,
                    ns,
                    field_selector=f"metadata.name={name}",
                    resource_version=version,
                    timeout_seconds=WATCH_CHUNK_S,
                    _request_timeout=WATCH_CHUNK_S + 5,
                ) as stream:
                    async for event in stream:
                        raw = event.get("raw_object")
                        if event.get("type") in ("ADDED", "MODIFIED") and isinstance(raw, dict) and done(raw):
                            return raw
            except Exception:  # a dropped or refused watch: read again, after a breath
                await anyio.sleep(0.5)


async def wait_rollout(kube: Kube, ns: str, kind: WorkloadKind, name: str, seconds: float) -> Workload:
    """Wait (at most ``seconds``) for ``kind ns/name``'s rollout to be done; RemediationError naming it if not."""
    read, list_fn, _ = kube.workload_api(kind)
    what = f"{kind} {ns}/{name}"

    async def read_raw() -> Json:
        return await kube.call(read, name, ns, verb="get", what=what)

    def done(raw: Json) -> bool:
        return rollout_pending(Workload.model_validate({**raw, "kind": kind})) is None

    with anyio.move_on_after(seconds):
        return Workload.model_validate({**await kube.wait_for(list_fn, read_raw, ns, name, done), "kind": kind})
    last = Workload.model_validate({**await read_raw(), "kind": kind})
    if rollout_pending(last) is None:
        return last
    raise RemediationError(f"{what} did not become Ready within {seconds:g}s: {rollout_pending(last) or 'unknown'}")


def restart_step(ctx: HealContext, kube: Kube, ns: str, w: Workload, *, why: str, wait_seconds: float) -> Step:
    """``kubectl rollout restart`` of ``w`` (the pod-template annotation, a server-side dry run first), then a
    bounded wait for it to be Ready; ``why`` is said in the plan."""
    what = f"{w.kind} {ns}/{w.name}"
    _, _, patch_fn = kube.workload_api(w.kind)
    old = w.spec.template.metadata.annotations.get(RESTARTED_AT)
    shown = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: "<now, RFC 3339>"}}}}}
    action = Action(
        kind="kubernetes",
        verb="patch",
        target=what,
        summary=ctx.mask(f"restart {what} (kubectl rollout restart) because {why}; wait for it to be Ready"),
        body=shown,
        undo=None,  # a restart replaces pods; there is nothing to take back
    )

    async def run() -> Change:
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now_rfc3339()}}}}}
        try:
            await kube.call(patch_fn, w.name, ns, body, verb="patch", what=what, dry_run="All")
        except RemediationError as exc:
            raise RemediationError(f"server-side dry run refused: {exc}") from None
        await kube.call(patch_fn, w.name, ns, body, verb="patch", what=what)
        done = await wait_rollout(kube, ns, w.kind, w.name, wait_seconds)
        new = done.spec.template.metadata.annotations.get(RESTARTED_AT)
        return Change(action=action, before={RESTARTED_AT: old}, after={RESTARTED_AT: new, "ready": True})

    return Step(action=action, run=run)
