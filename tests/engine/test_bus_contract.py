"""The bus's contract, pinned where mutation testing found it loose: a subscription keeps its name, the default
buffer is 1024 findings per subscriber, a closed bus is sealed, a publisher says it is open, and each refusal says
why."""

from __future__ import annotations

import pytest
from anyio import ClosedResourceError
from anyio.streams.memory import MemoryObjectReceiveStream

from floe_agents.bus import Bus, BusSealedError


def test_a_subscription_keeps_the_name_it_was_given() -> None:
    bus = Bus()
    plain = bus.subscribe("coordinator")
    reactive = bus.subscribe_reactive("follow-ups", predicate=lambda f: True)
    assert (plain.name, reactive.name) == ("coordinator", "follow-ups")
    bus.close()


def test_each_subscriber_buffers_1024_findings_unless_told_otherwise() -> None:
    bus = Bus()
    default, own = bus.subscribe("default"), bus.subscribe("own", buffer=3)
    assert isinstance(default.stream, MemoryObjectReceiveStream) and isinstance(own.stream, MemoryObjectReceiveStream)
    assert default.stream.statistics().max_buffer_size == 1024
    assert own.stream.statistics().max_buffer_size == 3
    bus.close()


def test_a_buffer_below_one_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"^bus buffer must be at least 1$"):
        Bus(buffer=0)


def test_subscribing_after_the_first_publisher_is_refused_with_the_reason() -> None:
    bus = Bus()
    pub = bus.publisher()
    with pytest.raises(BusSealedError, match=r"^the bus is sealed: subscribe before opening the first publisher$"):
        bus.subscribe("late")
    pub.close()
    bus.close()


def test_a_closed_bus_is_sealed_even_if_no_publisher_was_opened() -> None:
    bus = Bus()
    bus.subscribe("early")
    bus.close()
    with pytest.raises(BusSealedError):
        bus.subscribe("late")
    with pytest.raises(BusSealedError):
        bus.subscribe_reactive("late", predicate=lambda f: True)


def test_a_publisher_is_open_until_closed_and_a_closed_one_cannot_be_cloned() -> None:
    bus = Bus()
    bus.subscribe("s")
    pub = bus.publisher()
    assert pub.closed is False
    pub.close()
    assert pub.closed is True
    with pytest.raises(ClosedResourceError, match=r"^cannot clone a closed publisher$"):
        pub.clone()
    bus.close()
