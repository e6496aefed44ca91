"""What every Kubernetes object the probes read has: metadata (name, labels, owners) and a name to call it by.

Kept apart from the object models (:mod:`.kube`, :mod:`.kube_pod`) so both can build on it without importing
each other. Lenient the way the API's own JSON needs: labels and annotations read as string maps whatever came,
a missing name reads ``str(None)`` as it always did.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field

from floe_agents.probes._models import Model
from floe_agents.probes._models.lenient import Lenient, Objects

__all__ = ["KubeObject", "Meta", "Named", "OwnerRef", "Strings"]


def _strings(value: object) -> object:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


Strings = Annotated[dict[str, str], BeforeValidator(_strings)]  # labels, annotations, selectors


class Named(Model):
    name: str | None = None


class OwnerRef(Named):
    kind: str | None = None
    uid: str | None = None


class Meta(Named):
    uid: str | None = None
    labels: Strings = Field(default_factory=dict)
    annotations: Strings = Field(default_factory=dict)
    owner_references: Objects[OwnerRef] = Field((), alias="ownerReferences")
    creation_timestamp: str | None = Field(None, alias="creationTimestamp")


class KubeObject(Model):
    metadata: Lenient[Meta] = Meta()

    @property
    def name(self) -> str:
        return str(self.metadata.name)
