"""The finding bus: fan-out pub/sub on anyio memory object streams.

Why this shape:

* **One bounded stream per subscriber** (fan-out): a slow consumer applies back-pressure to publishers instead of
  growing memory, and every consumer sees every finding it asked for exactly once.
* **Filters at publish time** (topics = components, or any predicate): a subscriber that only cares about DNS
  failures never has the other 99% of findings copied into its buffer.
* **Completion without sleeps or polling**: following anyio's idiom, every publisher holds a *clone* of each
  subscriber's send stream; when the last clone is closed the subscriber's iterator ends (``EndOfStream``).
  Subscriptions must therefore all exist before the first publisher opens — :meth:`Bus.publisher` seals the bus.
* **Reactive subscribers** (event-driven follow-ups) receive each matching finding together with a *lease*: a
  publisher cloned at publish time. Because the lease exists before the publishing agent can finish, the bus cannot
  complete while a follow-up may still be launched; the reactor hands the lease to the follow-up it starts (or
  closes it), and completion arrives when the whole cascade is done.

Delivery guarantee: a ``publish`` that returns has delivered the finding once to every matching subscriber; a
``publish`` cancelled half-way (e.g. by the global deadline) delivered it at most once to some of them. Nothing is
ever duplicated. Use :func:`merge` and :func:`windows` (aiostream operators) to combine or batch subscriptions.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast

import anyio
from aiostream import stream
from aiostream.core import Stream
from anyio.abc import ObjectReceiveStream
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from floe_agents.findings import Finding

__all__ = ["Bus", "BusSealedError", "Delivery", "Publisher", "Subscription", "merge", "windows"]

Predicate = Callable[[Finding], bool]
T = TypeVar("T")


class BusSealedError(RuntimeError):
    """Raised when subscribing after the first publisher opened (it could never see completion correctly)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a reactive subscriber receives: the finding and a lease to publish follow-ups with."""

    finding: Finding
    lease: Publisher


@dataclass(frozen=True, slots=True)
class _Route:
    send: MemoryObjectSendStream[Any]
    topics: frozenset[str] | None
    predicate: Predicate | None
    reactive: bool

    def wants(self, finding: Finding) -> bool:
        if self.topics is not None and finding.component not in self.topics:
            return False
        return self.predicate is None or self.predicate(finding)


class Subscription(Generic[T]):
    """A subscriber's view of the bus: an async iterator that ends when every publisher is done."""

    def __init__(self, name: str, receive: MemoryObjectReceiveStream[T]) -> None:
        self.name = name
        self._receive = receive

    @property
    def stream(self) -> ObjectReceiveStream[T]:
        return self._receive

    def __aiter__(self) -> AsyncIterator[T]:
        return self._receive.__aiter__()

    async def aclose(self) -> None:
        """Stop receiving. Leases still queued for a reactive subscriber are released, so the bus can complete."""
        while True:
            try:
                item = self._receive.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                break
            if isinstance(item, Delivery):
                item.lease.close()
        await self._receive.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class Bus:
    """Fan-out finding bus. Subscribe first, then open publishers; all publishers closing completes every
    subscription.

    ``buffer`` bounds each subscriber's queue; ``on_drop`` (optional) is told about findings a subscriber missed
    because it closed its subscription early (a closed consumer must not wedge the publishers).
    """

    def __init__(self, buffer: int = 1024) -> None:
        if buffer < 1:
            msg = "bus buffer must be at least 1"
            raise ValueError(msg)
        self._buffer = buffer
        self._routes: list[_Route] = []
        self._sealed = False
        self._root: Publisher | None = None

    def subscribe(
        self,
        name: str,
        *,
        topics: Collection[str] | None = None,
        predicate: Predicate | None = None,
        buffer: int | None = None,
    ) -> Subscription[Finding]:
        """A plain subscription, optionally filtered to ``topics`` (component names) and/or a predicate."""
        send, receive = anyio.create_memory_object_stream[Finding](buffer or self._buffer)
        self._add(_Route(send, _topics(topics), predicate, reactive=False))
        return Subscription(name, receive)

    def subscribe_reactive(
        self, name: str, *, predicate: Predicate, buffer: int | None = None
    ) -> Subscription[Delivery]:
        """A subscription whose deliveries carry a lease for publishing follow-up findings."""
        send, receive = anyio.create_memory_object_stream[Delivery](buffer or self._buffer)
        self._add(_Route(send, None, predicate, reactive=True))
        return Subscription(name, receive)

    def _add(self, route: _Route) -> None:
        if self._sealed:
            msg = "the bus is sealed: subscribe before opening the first publisher"
            raise BusSealedError(msg)
        self._routes.append(route)

    def publisher(self) -> Publisher:
        """A new publisher (seals the bus). Close it — ``async with`` — when done publishing."""
        if self._root is None:
            self._sealed = True
            self._root = Publisher(tuple((r, r.send) for r in self._routes))
        return self._root.clone()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the bus's own reference; subscriptions end once the publishers it handed out are closed."""
        self._sealed = True
        if self._root is not None:
            self._root.close()
        else:
            for route in self._routes:
                route.send.close()


class Publisher:
    """Holds a clone of every subscriber's send stream. ``publish`` fans a finding out to matching routes."""

    def __init__(
        self,
        sends: tuple[tuple[_Route, MemoryObjectSendStream[Any]], ...],
    ) -> None:
        self._sends = sends
        self._closed = False

    def clone(self) -> Publisher:
        if self._closed:
            msg = "cannot clone a closed publisher"
            raise anyio.ClosedResourceError(msg)
        return Publisher(tuple((route, send.clone()) for route, send in self._sends))

    async def publish(self, finding: Finding) -> None:
        """Deliver ``finding`` to every subscriber that wants it (waits while a subscriber's buffer is full)."""
        for route, send in self._sends:
            if not route.wants(finding):
                continue
            try:
                if route.reactive:
                    lease = self.clone()
                    try:
                        await send.send(Delivery(finding, lease))
                    except BaseException:
                        lease.close()
                        raise
                else:
                    await send.send(finding)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                # The subscriber went away (closed its receive side); others must still be served.
                continue

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for _, send in self._sends:
                send.close()

    @property
    def closed(self) -> bool:
        return self._closed

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _topics(topics: Collection[str] | None) -> frozenset[str] | None:
    return None if topics is None else frozenset(topics)


def merge(*subscriptions: Subscription[T]) -> AsyncIterator[T]:
    """Interleave several subscriptions into one async iterator (aiostream ``merge``); ends when all end."""
    merged: Stream[T] = stream.merge(*(cast(AsyncIterable[T], s.stream) for s in subscriptions))
    return _iterate(merged)


def windows(subscription: Subscription[T], size: int) -> AsyncIterator[list[T]]:
    """Batch a subscription into lists of up to ``size`` items (aiostream ``chunks``); the last may be short."""
    source = cast(AsyncIterable[Any], subscription.stream)
    chunked = cast(Stream[list[T]], stream.chunks(source, size))
    return _iterate(chunked)


async def _iterate(source: Stream[T]) -> AsyncIterator[T]:
    async with source.stream() as items:
        async for item in items:
            yield item
