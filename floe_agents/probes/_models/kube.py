"""The parts of Kubernetes objects the cluster-facing probes read, as typed models of the API's JSON.

Objects are listed raw (``_preload_content=False``) so a garbage answer is a finding, not a traceback; these
models then give the fields the rules about pods, references, Services, Jobs and events use. They are lenient
the way the API's own JSON needs: lists hold objects (anything else dropped), nested objects may be null, names
may be missing (``str(None)``, as before). Container states pass through whole (``extra="allow"``) because a
Job's evidence shows them as the API sent them; Secret data is reduced to key names while it is parsed.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, JsonValue, model_validator

from floe_agents.probes._models import Model
from floe_agents.probes._models.lenient import Lenient, Objects

__all__ = [
    "ConfigMap",
    "Container",
    "ContainerStatus",
    "Deployment",
    "Endpoints",
    "Event",
    "Job",
    "KeyStore",
    "Meta",
    "Pod",
    "Service",
]


def _strings(value: object) -> object:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


Strings = Annotated[dict[str, str], BeforeValidator(_strings)]  # labels, annotations, selectors


class _Named(Model):
    name: str | None = None


class OwnerRef(_Named):
    kind: str | None = None
    uid: str | None = None


class Meta(_Named):
    uid: str | None = None
    labels: Strings = Field(default_factory=dict)
    annotations: Strings = Field(default_factory=dict)
    owner_references: Objects[OwnerRef] = Field((), alias="ownerReferences")
    creation_timestamp: str | None = Field(None, alias="creationTimestamp")


class _Object(Model):
    metadata: Lenient[Meta] = Meta()

    @property
    def name(self) -> str:
        return str(self.metadata.name)


class Ref(_Named):
    """A Secret/ConfigMap reference: ``secretKeyRef``, ``configMapRef`` ..."""

    key: str | None = None
    optional: bool | None = None


class _ValueFrom(Model):
    secret_key_ref: Ref | None = Field(None, alias="secretKeyRef")
    config_map_key_ref: Ref | None = Field(None, alias="configMapKeyRef")


class EnvVar(_Named):
    value: JsonValue = None  # set or not: see ``model_fields_set``
    value_from: Lenient[_ValueFrom] = Field(_ValueFrom(), alias="valueFrom")


class EnvFrom(Model):
    prefix: str = ""
    secret_ref: Ref | None = Field(None, alias="secretRef")
    config_map_ref: Ref | None = Field(None, alias="configMapRef")


class Container(_Named):
    env: Objects[EnvVar] = ()
    env_from: Objects[EnvFrom] = Field((), alias="envFrom")


class _Key(Model):
    key: str | None = None


class _SecretVolume(Model):
    secret_name: str | None = Field(None, alias="secretName")
    optional: bool | None = None
    items: Objects[_Key] = ()


class _ConfigMapVolume(_Named):
    optional: bool | None = None
    items: Objects[_Key] = ()


class VolumeSource(Model):
    """A volume, or one source of a projected volume."""

    secret: _SecretVolume | None = None
    config_map: _ConfigMapVolume | None = Field(None, alias="configMap")


class _Projected(Model):
    sources: Objects[VolumeSource] = ()


class Volume(VolumeSource):
    projected: Lenient[_Projected] = _Projected()


class PodSpec(Model):
    containers: Objects[Container] = ()
    init_containers: Objects[Container] = Field((), alias="initContainers")
    volumes: Objects[Volume] = ()
    image_pull_secrets: Objects[_Named] = Field((), alias="imagePullSecrets")


class _PassThrough(Model):
    """Kept whole: shown in evidence as the API sent it (dump with ``exclude_unset``)."""

    model_config = ConfigDict(extra="allow")


class _Waiting(_PassThrough):
    reason: str | None = None
    message: str | None = None


class _Running(_PassThrough):
    started_at: str | None = Field(None, alias="startedAt")


class _Terminated(_PassThrough):
    exit_code: int | None = Field(None, alias="exitCode")
    reason: str | None = None
    message: str | None = None
    finished_at: str | None = Field(None, alias="finishedAt")


class ContainerState(_PassThrough):
    waiting: _Waiting | None = None
    running: _Running | None = None
    terminated: _Terminated | None = None


class ContainerStatus(_Named):
    restart_count: int | None = Field(None, alias="restartCount")
    state: ContainerState | None = None
    last_state: Lenient[ContainerState] = Field(ContainerState(), alias="lastState")

    @property
    def waiting(self) -> _Waiting:
        return (self.state.waiting if self.state else None) or _Waiting()


class Condition(Model):
    type: str | None = None
    status: str | None = None
    reason: str | None = None
    message: str | None = None


class PodStatus(Model):
    phase: str | None = None
    reason: str | None = None
    message: str | None = None
    conditions: Objects[Condition] = ()
    container_statuses: Objects[ContainerStatus] = Field((), alias="containerStatuses")
    init_container_statuses: Objects[ContainerStatus] = Field((), alias="initContainerStatuses")


class Pod(_Object):
    spec: Lenient[PodSpec] = PodSpec()
    status: Lenient[PodStatus] = PodStatus()


class _InvolvedObject(_Named):
    kind: str | None = None
    uid: str | None = None


class _Series(Model):
    count: int | None = None


class Event(_Object):
    type: str | None = None
    reason: str | None = None
    message: str | None = None
    count: int | None = None
    series: Lenient[_Series] = _Series()
    involved_object: Lenient[_InvolvedObject] = Field(_InvolvedObject(), alias="involvedObject")
    last_timestamp: str | None = Field(None, alias="lastTimestamp")
    event_time: str | None = Field(None, alias="eventTime")


class _ServicePort(Model):
    port: int | None = None


class _ServiceSpec(Model):
    selector: Strings | None = None
    type: str | None = None
    ports: Objects[_ServicePort] = ()


class Service(_Object):
    spec: Lenient[_ServiceSpec] = _ServiceSpec()

    @property
    def ports(self) -> list[int | None]:
        return [p.port for p in self.spec.ports]


class _Address(Model):
    target_ref: Lenient[_Named] = Field(_Named(), alias="targetRef")


class _Subset(Model):
    addresses: Objects[_Address] = ()
    not_ready_addresses: Objects[_Address] = Field((), alias="notReadyAddresses")


class Endpoints(_Object):
    subsets: Objects[_Subset] = ()


class _JobStatus(Model):
    conditions: Objects[Condition] = ()
    active: int | None = 0
    failed: int | None = 0
    completion_time: str | None = Field(None, alias="completionTime")


class Job(_Object):
    status: Lenient[_JobStatus] = _JobStatus()


class _PodTemplate(Model):
    spec: Lenient[PodSpec] = PodSpec()


class _DeploymentSpec(Model):
    template: Lenient[_PodTemplate] = _PodTemplate()


class Deployment(_Object):
    spec: Lenient[_DeploymentSpec] = _DeploymentSpec()


class ConfigMap(_Object):
    data: Strings = Field(default_factory=dict)


class KeyStore(_Object):
    """A Secret or ConfigMap reduced to its key names (``data`` and ``binaryData``) as it is parsed."""

    keys: frozenset[str] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _keys_only(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        data, binary = value.get("data") or {}, value.get("binaryData") or {}
        return {"metadata": value.get("metadata"), "keys": [*data, *binary]}
