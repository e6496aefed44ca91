"""Change events, subscriptions and the bounded change history behind watches.

Why it is built like the real watch cache:

* **One bounded anyio memory stream per subscriber.** The store's writes are synchronous (no await between
  checking a resourceVersion and committing, which is what makes a Lease a lock), so delivery uses
  ``send_nowait``. A subscriber that falls a full buffer behind is *dropped*: its iterator ends, exactly as the
  real apiserver closes a too-slow watch. Nothing is lost: it resumes with ``since=<last resourceVersion seen>``.
* **A ring of recent changes** lets a watch resume from a resourceVersion; one older than the ring gets
  410 Expired ("too old resource version"), the signal real clients use to re-list.
* **Selectors are applied to transitions**, like the watch cache does: an object that stops matching a
  subscriber's selector is delivered as DELETED, one that starts matching as ADDED.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from floe_lab.kube.errors import expired
from floe_lab.kube.resources import ResourceType
from floe_lab.kube.selectors import ObjectFilter

__all__ = ["Change", "History", "Subscription", "WatchEvent", "convert"]

JsonObj = dict[str, Any]


@dataclass(frozen=True)
class Change:
    """One committed write. ``obj`` is the new state (for DELETED: the last state, with the deletion's RV)."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    resource: ResourceType
    obj: JsonObj
    prev: JsonObj | None = None

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace") or "")


@dataclass(frozen=True)
class WatchEvent:
    """What a subscriber receives: the watch event ``type`` and ``object`` plus the resource type it belongs to."""

    type: str
    object: JsonObj
    resource: ResourceType

    @property
    def resource_version(self) -> str:
        return str(self.object["metadata"]["resourceVersion"])

    def wire(self) -> JsonObj:
        """The JSON line a watch sends: ``{"type": ..., "object": ...}``."""
        return {"type": self.type, "object": self.object}


def _with_rv(obj: JsonObj, rv: int) -> JsonObj:
    out = dict(obj)
    out["metadata"] = {**obj["metadata"], "resourceVersion": str(rv)}
    return out


def convert(change: Change, selector: ObjectFilter) -> WatchEvent | None:
    """The event a subscriber with ``selector`` sees for ``change`` (None: it sees nothing)."""
    if selector.empty:
        return WatchEvent(change.type, change.obj, change.resource)
    now_matches = selector.matches(change.obj)
    if change.type != "MODIFIED" or change.prev is None:
        return WatchEvent(change.type, change.obj, change.resource) if now_matches else None
    was_matching = selector.matches(change.prev)
    if now_matches:
        return WatchEvent("MODIFIED" if was_matching else "ADDED", change.obj, change.resource)
    if was_matching:
        return WatchEvent("DELETED", _with_rv(change.prev, change.rv), change.resource)
    return None


class History:
    """The last ``size`` changes, to resume watches from a resourceVersion."""

    def __init__(self, size: int) -> None:
        self._changes: deque[Change] = deque(maxlen=size)
        self._compacted = 0  # changes with rv <= this are gone

    def append(self, change: Change) -> None:
        if self._changes.maxlen is not None and len(self._changes) == self._changes.maxlen:
            self._compacted = self._changes[0].rv
        self._changes.append(change)

    def since(self, rv: int) -> list[Change]:
        if rv < self._compacted:
            raise expired(f"too old resource version: {rv} ({self._compacted + 1})")
        return [c for c in self._changes if c.rv > rv]


class Subscription:
    """A live feed of :class:`WatchEvent`; use as ``async with store.subscribe(...) as sub: async for ev in sub``.

    Registration happens when the store creates it, atomically with the initial snapshot, so no change between
    "list" and "watch" can be missed or doubled.
    """

    def __init__(
        self,
        resource: ResourceType | None,
        namespace: str | None,
        selector: ObjectFilter,
        buffer: int,
        *,
        copy_objects: bool,
        on_close: Callable[[Subscription], None],
    ) -> None:
        self.resource = resource
        self.namespace = namespace
        self.selector = selector
        self._copy = copy_objects
        self._on_close = on_close
        self.dropped = False
        self._open = True
        send, receive = anyio.create_memory_object_stream[WatchEvent](buffer)
        self._send: MemoryObjectSendStream[WatchEvent] = send
        self._receive: MemoryObjectReceiveStream[WatchEvent] = receive

    def wants(self, change: Change) -> bool:
        if self.resource is not None and change.resource != self.resource:
            return False
        return self.namespace is None or change.namespace == self.namespace

    def offer(self, change: Change) -> None:
        """Deliver ``change`` if it concerns this subscriber; drop the subscriber if it is a full buffer behind."""
        if self._open and self.wants(change):
            event = convert(change, self.selector)
            if event is not None:
                self.push(event)

    def push(self, event: WatchEvent) -> None:
        if not self._open:
            return
        if self._copy:
            event = WatchEvent(event.type, copy.deepcopy(event.object), event.resource)
        try:
            self._send.send_nowait(event)
        except anyio.WouldBlock:
            self.dropped = True
            self._finish()
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._finish()

    def _finish(self) -> None:
        if self._open:
            self._open = False
            self._send.close()
            self._on_close(self)

    def close(self) -> None:
        """Stop receiving; events already buffered are discarded. Safe to call more than once."""
        self._finish()
        self._receive.close()

    def end(self) -> None:
        """End the feed after what is already buffered (the iterator then stops), e.g. on server shutdown."""
        self._finish()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> WatchEvent:
        try:
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
