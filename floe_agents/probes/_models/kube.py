"""The parts of Kubernetes objects the cluster-facing probes read, as typed models of the API's JSON.

Objects are listed raw (``_preload_content=False``) so a garbage answer is a finding, not a traceback; these
models then give the fields the rules about pods, references, Services, Jobs and events use. They are lenient
the way the API's own JSON needs: lists hold objects (anything else dropped), nested objects may be null, names
may be missing (``str(None)``, as before). Secret data is reduced to key names while it is parsed. The Pod and
its parts live in :mod:`.kube_pod`, the metadata every object has in :mod:`.kube_meta`; both are re-exported.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from floe_agents.probes._models import Model
from floe_agents.probes._models.kube_meta import KubeObject, Meta, Named, Strings
from floe_agents.probes._models.kube_pod import (
    Condition,
    Container,
    ContainerStatus,
    Pod,
    PodSpec,
    Ref,
    Terminated,
    Volume,
)
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
    "Ref",
    "Service",
    "Terminated",
    "Volume",
]


class _InvolvedObject(Named):
    kind: str | None = None
    uid: str | None = None


class _Series(Model):
    count: int | None = None


class Event(KubeObject):
    type: str | None = None
    reason: str | None = None
    message: str | None = None
    count: int | None = None
    series: Lenient[_Series] = _Series()
    involved_object: Lenient[_InvolvedObject] = Field(_InvolvedObject(), alias="involvedObject")
    last_timestamp: str | None = Field(None, alias="lastTimestamp")
    event_time: str | None = Field(None, alias="eventTime")


class ServicePort(Model):
    name: str | None = None
    port: int | None = None
    target_port: int | str | None = Field(None, alias="targetPort")  # a number or a container port's name

    @property
    def target(self) -> int | str | None:
        """Where the Service sends this port: its targetPort, or the same number when none is set."""
        return self.port if self.target_port is None else self.target_port


class _ServiceSpec(Model):
    selector: Strings | None = None
    type: str | None = None
    ports: Objects[ServicePort] = ()


class Service(KubeObject):
    spec: Lenient[_ServiceSpec] = _ServiceSpec()

    @property
    def ports(self) -> list[int | None]:
        return [p.port for p in self.spec.ports]


class _Address(Model):
    target_ref: Lenient[Named] = Field(Named(), alias="targetRef")


class _Subset(Model):
    addresses: Objects[_Address] = ()
    not_ready_addresses: Objects[_Address] = Field((), alias="notReadyAddresses")


class Endpoints(KubeObject):
    subsets: Objects[_Subset] = ()


class _JobStatus(Model):
    conditions: Objects[Condition] = ()
    active: int | None = 0
    failed: int | None = 0
    completion_time: str | None = Field(None, alias="completionTime")


class Job(KubeObject):
    status: Lenient[_JobStatus] = _JobStatus()


class _PodTemplate(Model):
    spec: Lenient[PodSpec] = PodSpec()


class _DeploymentSpec(Model):
    replicas: int | None = None  # None: the API's default, 1
    template: Lenient[_PodTemplate] = _PodTemplate()


class Deployment(KubeObject):
    spec: Lenient[_DeploymentSpec] = _DeploymentSpec()


class ConfigMap(KubeObject):
    data: Strings = Field(default_factory=dict)


class KeyStore(KubeObject):
    """A Secret or ConfigMap reduced to its key names (``data`` and ``binaryData``) as it is parsed."""

    keys: frozenset[str] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _keys_only(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        data, binary = value.get("data") or {}, value.get("binaryData") or {}
        return {"metadata": value.get("metadata"), "keys": [*data, *binary]}
