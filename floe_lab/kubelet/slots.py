"""A pod's containers as its worker runs them: one :class:`Slot` per container, init containers first.

Why a slot per container: each container of a pod has its own life on a node — its image (here: its launcher),
its process and log, its restart count and its own restart back-off, its status entry and the field path its
events name (``spec.initContainers{wait-db}``) — while volumes, the pod's phase and its conditions are shared.
The first app container keeps the pod's name as its process name (its log is ``logs/<pod>.log``, as the lab's
tools expect); every other container's process is ``<pod>_<container>`` (``_`` cannot occur in a pod name).
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from floe_lab.kubelet.backoff import Backoff
from floe_lab.kubelet.context import launcher_for
from floe_lab.kubelet.images import ImagePuller
from floe_lab.kubelet.status import ContainerView, waiting

__all__ = ["Slot", "slots_of"]


@dataclass
class Slot:
    """One container of the pod and what its worker knows and remembers about it."""

    name: str
    init: bool
    index: int
    proc_name: str
    view: ContainerView
    backoff: Backoff
    puller: ImagePuller
    message_file: Path | None = field(default=None)

    def spec(self, pod: Mapping[str, Any]) -> Mapping[str, Any]:
        """The container's spec in the pod's current version."""
        containers: list[Mapping[str, Any]] = pod["spec"]["initContainers" if self.init else "containers"]
        return containers[self.index]

    def launcher(self, pod: Mapping[str, Any], known: Container[str] = ()) -> str:
        """The launcher that plays this container's image (``known``: the node's launchers, for ``image:`` ones)."""
        image = str(self.spec(pod).get("image", ""))
        return launcher_for(pod, self.name, first_app=not self.init and self.index == 0, image=image, known=known)

    @property
    def field_path(self) -> str:
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"

    def idle(self) -> bool:
        """Never created yet: its state is the pod's default waiting reason."""
        return self.view.container_id is None


def slots_of(pod: Mapping[str, Any], *, base: float, ceiling: float) -> tuple[list[Slot], Slot]:
    """The init containers' slots (in order) and the first app container's slot."""
    spec, pod_name = pod["spec"], str(pod["metadata"]["name"])
    inits = list(spec.get("initContainers") or [])
    default = "PodInitializing" if inits else "ContainerCreating"

    def slot(container: Mapping[str, Any], *, init: bool, index: int) -> Slot:
        name = str(container["name"])
        return Slot(
            name=name,
            init=init,
            index=index,
            proc_name=pod_name if not init and index == 0 else f"{pod_name}_{name}",
            view=ContainerView(name=name, image=str(container.get("image", "")), state=waiting(default)),
            backoff=Backoff(base, ceiling),
            puller=ImagePuller(base, ceiling),
        )

    return [slot(c, init=True, index=i) for i, c in enumerate(inits)], slot(spec["containers"][0], init=False, index=0)
