"""A Pod as the probes read it: what its containers are given (image, command, env, volumes, security context,
memory limit) and what became of them (waiting, running, terminated; the last termination).

Why these fields: the kubernetes probe says why a workload does not run, and each reason needs its own part of
the spec to be fixed: the memory limit an OOM kill hit, the user and fsGroup a "Permission denied" ran as, the
command a "not found" names, and every Secret/ConfigMap reference with the env var or mount it fills. Container
states pass through whole (``extra="allow"``) because a Job's evidence shows them as the API sent them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, BeforeValidator, ConfigDict, Field, JsonValue

from floe_agents.probes._models import Model
from floe_agents.probes._models.kube_meta import KubeObject, Named, Strings
from floe_agents.probes._models.lenient import Lenient, Objects

__all__ = ["Container", "ContainerState", "ContainerStatus", "Pod", "PodSpec", "Ref", "Terminated", "Volume"]


def _words(value: object) -> object:
    return [str(v) for v in value] if isinstance(value, list) else []


Words = Annotated[tuple[str, ...], BeforeValidator(_words)]  # command, args


class Ref(Named):
    """A Secret/ConfigMap reference: ``secretKeyRef``, ``configMapRef`` ..."""

    key: str | None = None
    optional: bool | None = None


class _ValueFrom(Model):
    secret_key_ref: Ref | None = Field(None, alias="secretKeyRef")
    config_map_key_ref: Ref | None = Field(None, alias="configMapKeyRef")


class EnvVar(Named):
    value: JsonValue = None  # set or not: see ``model_fields_set``
    value_from: Lenient[_ValueFrom] = Field(_ValueFrom(), alias="valueFrom")


class EnvFrom(Model):
    prefix: str = ""
    secret_ref: Ref | None = Field(None, alias="secretRef")
    config_map_ref: Ref | None = Field(None, alias="configMapRef")


class _Key(Model):
    key: str | None = None
    path: str | None = None


class _SecretVolume(Model):
    # A volume names its Secret ``secretName``; a projected volume's source names it ``name``.
    secret_name: str | None = Field(None, validation_alias=AliasChoices("secretName", "name", "secret_name"))
    optional: bool | None = None
    items: Objects[_Key] = ()


class _ConfigMapVolume(Named):
    optional: bool | None = None
    items: Objects[_Key] = ()


class VolumeSource(Model):
    """A volume, or one source of a projected volume."""

    secret: _SecretVolume | None = None
    config_map: _ConfigMapVolume | None = Field(None, alias="configMap")


class _Projected(Model):
    sources: Objects[VolumeSource] = ()


class Volume(VolumeSource, Named):
    projected: Lenient[_Projected] = _Projected()


class VolumeMount(Named):
    mount_path: str | None = Field(None, alias="mountPath")


class _Resources(Model):
    limits: Strings = Field(default_factory=dict)


class SecurityContext(Model):
    """A container's or the pod's security context (``fs_group`` is the pod's only)."""

    run_as_user: int | None = Field(None, alias="runAsUser")
    run_as_group: int | None = Field(None, alias="runAsGroup")
    run_as_non_root: bool | None = Field(None, alias="runAsNonRoot")
    read_only_root_filesystem: bool | None = Field(None, alias="readOnlyRootFilesystem")
    fs_group: int | None = Field(None, alias="fsGroup")


class ContainerPort(Named):
    container_port: int | None = Field(None, alias="containerPort")


class Container(Named):
    image: str | None = None
    ports: Objects[ContainerPort] = ()
    command: Words = ()
    args: Words = ()
    env: Objects[EnvVar] = ()
    env_from: Objects[EnvFrom] = Field((), alias="envFrom")
    volume_mounts: Objects[VolumeMount] = Field((), alias="volumeMounts")
    resources: Lenient[_Resources] = _Resources()
    security_context: Lenient[SecurityContext] = Field(SecurityContext(), alias="securityContext")


class PodSpec(Model):
    containers: Objects[Container] = ()
    init_containers: Objects[Container] = Field((), alias="initContainers")
    volumes: Objects[Volume] = ()
    image_pull_secrets: Objects[Named] = Field((), alias="imagePullSecrets")
    security_context: Lenient[SecurityContext] = Field(SecurityContext(), alias="securityContext")


class _PassThrough(Model):
    """Kept whole: shown in evidence as the API sent it (dump with ``exclude_unset``)."""

    model_config = ConfigDict(extra="allow")


class _Waiting(_PassThrough):
    reason: str | None = None
    message: str | None = None


class _Running(_PassThrough):
    started_at: str | None = Field(None, alias="startedAt")


class Terminated(_PassThrough):
    exit_code: int | None = Field(None, alias="exitCode")
    reason: str | None = None
    message: str | None = None
    finished_at: str | None = Field(None, alias="finishedAt")


class ContainerState(_PassThrough):
    waiting: _Waiting | None = None
    running: _Running | None = None
    terminated: Terminated | None = None


class ContainerStatus(Named):
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


class Pod(KubeObject):
    spec: Lenient[PodSpec] = PodSpec()
    status: Lenient[PodStatus] = PodStatus()

    def container(self, name: str | None) -> Container | None:
        """The spec of the container (or init container) called ``name``."""
        return next((c for c in self.spec.init_containers + self.spec.containers if c.name == name), None)
