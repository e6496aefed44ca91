"""Image "pulls": a pod whose launcher does not exist looks like a pod whose image does not exist.

Why: in the lab the ``lab.floe.dev/launch`` annotation plays the image — it is what says which program runs.
A name no launcher answers to is, to anyone reading the API, an image the node cannot pull, with the kubelet's
sequence: ``Pulling``, ``Failed`` (the registry's NotFound, as containerd words it), ``ErrImagePull``, then
``ImagePullBackOff`` while the pull back-off (the kubelet's: 10 s doubling to 300 s) runs, and another try when
it expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from floe_lab.kubelet.status import ContainerView, qualified_image, waiting

__all__ = ["ImagePuller"]


class _Emit(Protocol):
    async def __call__(self, type_: str, reason: str, message: str) -> None: ...


class ImagePuller:
    """The pull back-off of one container."""

    def __init__(self, base: float, ceiling: float) -> None:
        self._next, self._delay, self._ceiling = 0.0, base, ceiling

    async def not_found(self, view: ContainerView, emit: _Emit, publish: Callable[[], None]) -> None:
        """Report a failed pull (when the back-off allows another try) or the back-off in progress."""
        image = view.image
        if time.monotonic() >= self._next:
            ref = qualified_image(image)
            error = (
                f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
                f'failed to resolve reference "{ref}": {ref}: not found'
            )
            await emit("Normal", "Pulling", f'Pulling image "{image}"')
            await emit("Warning", "Failed", f'Failed to pull image "{image}": {error}')
            await emit("Warning", "Failed", "Error: ErrImagePull")
            view.state = waiting("ErrImagePull", error)
            self._next = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, self._ceiling)
        else:
            view.state = waiting("ImagePullBackOff", f'Back-off pulling image "{image}"')
            await emit("Normal", "BackOff", f'Back-off pulling image "{image}"')
            await emit("Warning", "Failed", "Error: ImagePullBackOff")
        publish()
