"""The parts of Kubernetes objects the Kubernetes remediations decide on, as typed models of the API's JSON.

Only the fields a plan reads (env and its sources, what a pod template references, rollout status, container
states), so an odd answer is a default, never a traceback; plus the pure rules over them: what a pod spec
references, whether a rollout is done as ``kubectl rollout status`` judges it, and RFC 3339 times.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "EnvVar",
    "KeyRef",
    "Pod",
    "PodSpec",
    "Workload",
    "WorkloadKind",
    "later",
    "now_rfc3339",
    "parse_time",
    "references",
    "rollout_pending",
]

WorkloadKind: TypeAlias = Literal["Deployment", "StatefulSet"]


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
