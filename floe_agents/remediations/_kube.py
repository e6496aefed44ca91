"""What the Kubernetes remediations share: one way to call the API, the objects they read, and waiting.

Why a helper of their own (and not the probes' reader): a remediation writes, so a refused call must become the
heal engine's vocabulary — :class:`NotPermittedError` naming the verb and resource the heal Role lacks, else one
:class:`RemediationError` line — and a 404 must be a plain "absent" the plan can act on. Calls are made raw
(``_preload_content=False``) through the ``kubernetes_asyncio`` client the run opened from the targets file, and
the JSON is read into the small typed models below (only the fields a plan decides on), so an odd answer is a
model default, never a traceback. Waiting (a rollout, a Job) watches the object, bounded by the caller's deadline,
and re-reads it whenever the watch ends, so a dropped watch costs a round trip, not the wait.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

import anyio
from pydantic import BaseModel, ConfigDict, Field

from floe_agents.heal_context import HealContext, NotPermittedError, RemediationError
from floe_agents.text import printable

__all__ = [
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
    "rollout_pending",
    "wait_rollout",
]

REQUEST_TIMEOUT_S = 10.0
WATCH_CHUNK_S = 5  # a watch is re-opened (after a fresh read) at least this often
Json: TypeAlias = dict[str, Any]
WorkloadKind: TypeAlias = Literal["Deployment", "StatefulSet"]
ApiCall: TypeAlias = Callable[..., Awaitable[Any]]


class _M(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Meta(_M):
    name: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    generation: int | None = None


class KeyRef(_M):
    name: str | None = None
    key: str | None = None
    optional: bool | None = None


class _ValueFrom(_M):
    secret_key_ref: KeyRef | None = Field(None, alias="secretKeyRef")
    config_map_key_ref: KeyRef | None = Field(None, alias="configMapKeyRef")


class EnvVar(_M):
    name: str
    value: str | None = None
    value_from: _ValueFrom | None = Field(None, alias="valueFrom")


class _EnvFrom(_M):
    secret_ref: KeyRef | None = Field(None, alias="secretRef")
    config_map_ref: KeyRef | None = Field(None, alias="configMapRef")


class Container(_M):
    name: str
    env: list[EnvVar] = Field(default_factory=list)
    env_from: list[_EnvFrom] = Field(default_factory=list, alias="envFrom")


class _SecretVolume(_M):
    secret_name: str | None = Field(None, alias="secretName")


class _Projection(_M):
    secret: KeyRef | None = None
    config_map: KeyRef | None = Field(None, alias="configMap")


class _Projected(_M):
    sources: list[_Projection] = Field(default_factory=list)


class Volume(_M):
    name: str = ""
    secret: _SecretVolume | None = None
    config_map: KeyRef | None = Field(None, alias="configMap")
    projected: _Projected | None = None


class PodSpec(_M):
    containers: list[Container] = Field(default_factory=list)
    init_containers: list[Container] = Field(default_factory=list, alias="initContainers")
    volumes: list[Volume] = Field(default_factory=list)


class Template(_M):
    metadata: Meta = Meta()
    spec: PodSpec = PodSpec()


class _Selector(_M):
    match_labels: dict[str, str] = Field(default_factory=dict, alias="matchLabels")


class _WorkloadSpec(_M):
    replicas: int = 1
    paused: bool = False
    selector: _Selector = _Selector()
    template: Template = Template()


class _WorkloadStatus(_M):
    observed_generation: int | None = Field(None, alias="observedGeneration")
    replicas: int = 0
    updated_replicas: int = Field(0, alias="updatedReplicas")
    ready_replicas: int = Field(0, alias="readyReplicas")
    available_replicas: int = Field(0, alias="availableReplicas")
    current_revision: str | None = Field(None, alias="currentRevision")
    update_revision: str | None = Field(None, alias="updateRevision")


class Workload(_M):
    """A Deployment or StatefulSet, as far as env, references and rollouts go."""

    kind: WorkloadKind = "Deployment"
    metadata: Meta = Meta()
    spec: _WorkloadSpec = _WorkloadSpec()
    status: _WorkloadStatus = _WorkloadStatus()

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.name}"


class _Waiting(_M):
    reason: str | None = None
    message: str | None = None


class _Running(_M):
    started_at: str | None = Field(None, alias="startedAt")


class _State(_M):
    running: _Running | None = None
    waiting: _Waiting | None = None


class ContainerStatus(_M):
    name: str = ""
    ready: bool = False
    state: _State = _State()


class _PodStatus(_M):
    phase: str | None = None
    container_statuses: list[ContainerStatus] = Field(default_factory=list, alias="containerStatuses")


class Pod(_M):
    metadata: Meta = Meta()
    spec: PodSpec = PodSpec()
    status: _PodStatus = _PodStatus()


def parse_time(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def later(*stamps: str | None) -> datetime | None:
    """The latest of ``stamps`` that parse (None when none does)."""
    times = [t for t in map(parse_time, stamps) if t is not None]
    return max(times, default=None)


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def references(spec: PodSpec) -> set[tuple[str, str]]:
    """Every (``Secret``|``ConfigMap``, name) a pod spec reads: env, envFrom, volumes (projected too)."""
    pairs: list[tuple[str, KeyRef | None]] = []
    for ctr in spec.init_containers + spec.containers:
        for env in ctr.env:
            if env.value_from:
                pairs += [("Secret", env.value_from.secret_key_ref), ("ConfigMap", env.value_from.config_map_key_ref)]
        pairs += [p for src in ctr.env_from for p in (("Secret", src.secret_ref), ("ConfigMap", src.config_map_ref))]
    for vol in spec.volumes:
        pairs += [
            ("Secret", KeyRef(name=vol.secret.secret_name) if vol.secret else None),
            ("ConfigMap", vol.config_map),
        ]
        for proj in vol.projected.sources if vol.projected else []:
            pairs += [("Secret", proj.secret), ("ConfigMap", proj.config_map)]
    return {(kind, ref.name) for kind, ref in pairs if ref is not None and ref.name}


def rollout_pending(w: Workload) -> str | None:
    """Why ``w``'s rollout is not done yet, as ``kubectl rollout status`` judges it; None when it is done."""
    want, st, gen = w.spec.replicas, w.status, w.metadata.generation
    if gen is not None and (st.observed_generation or 0) < gen:
        return "the controller has not seen the new spec yet"
    if st.updated_replicas < want:
        return f"{st.updated_replicas} of {want} replicas updated"
    if w.kind == "Deployment" and st.replicas > st.updated_replicas:
        return f"{st.replicas - st.updated_replicas} old replica(s) still running"
    if w.kind == "StatefulSet" and st.update_revision and st.current_revision != st.update_revision:
        return "the StatefulSet is still on its previous revision"
    if min(st.available_replicas, st.ready_replicas) < want:
        return f"{min(st.available_replicas, st.ready_replicas)} of {want} replicas ready"
    return None


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

        resource = what.split(" ", 1)[0].lower() + "s"
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
            raise NotPermittedError(verb, resource, message)
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
