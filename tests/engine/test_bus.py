"""The bus: fan-out, filters, completion by EndOfStream, leases, and its delivery guarantee under chaos."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import anyio.lowlevel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floe_agents.bus import Bus, BusSealedError, Delivery, Publisher, Subscription, merge, windows
from floe_agents.findings import Code, Finding, Status


def mk(component: str, subject: str, status: Status = Status.OK, code: str = Code.CHECK_OK) -> Finding:
    return Finding(component=component, check="t", status=status, code=code, summary=subject, subject=subject)


async def drain(sub: Subscription[Finding], out: list[Finding]) -> None:
    async with sub:
        async for f in sub:
            out.append(f)


async def test_fan_out_with_topic_and_predicate_filters() -> None:
    bus = Bus(buffer=2)
    everything, only_pg, only_fail = (
        bus.subscribe("all"),
        bus.subscribe("pg", topics=["postgres"]),
        bus.subscribe("fail", predicate=lambda f: f.status is Status.FAIL),
    )
    got: dict[str, list[Finding]] = {"all": [], "pg": [], "fail": []}
    pub = bus.publisher()
    bus.close()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(drain, everything, got["all"])
            tg.start_soon(drain, only_pg, got["pg"])
            tg.start_soon(drain, only_fail, got["fail"])
            async with pub:
                await pub.publish(mk("postgres", "a"))
                await pub.publish(mk("s3", "b", Status.FAIL, Code.TCP_REFUSED))
                await pub.publish(mk("postgres", "c", Status.FAIL, Code.TCP_REFUSED))
    assert [f.subject for f in got["all"]] == ["a", "b", "c"]
    assert [f.subject for f in got["pg"]] == ["a", "c"]
    assert [f.subject for f in got["fail"]] == ["b", "c"]


async def test_subscribing_after_a_publisher_opened_is_refused() -> None:
    bus = Bus()
    bus.subscribe("early")
    async with bus.publisher():
        with pytest.raises(BusSealedError):
            bus.subscribe("late")
    bus.close()


async def test_completion_waits_for_every_publisher_clone() -> None:
    bus = Bus()
    sub = bus.subscribe("s")
    first, second = bus.publisher(), bus.publisher()
    bus.close()
    first.close()
    await second.publish(mk("x", "still-open"))
    # One publisher is still open: no EndOfStream yet, the finding is there.
    assert (await sub.stream.receive()).subject == "still-open"
    with anyio.move_on_after(0.05) as scope:
        await sub.stream.receive()
    assert scope.cancelled_caught, "subscription ended while a publisher was still open"
    second.close()
    with pytest.raises(anyio.EndOfStream):
        await sub.stream.receive()
    await sub.aclose()


async def test_reactive_lease_keeps_the_bus_open_until_the_follow_up_is_done() -> None:
    bus = Bus()
    plain = bus.subscribe("plain")
    reactive = bus.subscribe_reactive("react", predicate=lambda f: f.status is Status.FAIL)
    pub = bus.publisher()
    bus.close()
    seen: list[Finding] = []

    async def react(sub: Subscription[Delivery], tg: anyio.abc.TaskGroup) -> None:
        async with sub:
            async for delivery in sub:
                async with delivery.lease as lease:
                    tg.start_soon(follow_up, lease.clone(), delivery.finding)

    async def follow_up(lease_pub: object, trigger: Finding) -> None:
        assert isinstance(lease_pub, Publisher)
        async with lease_pub:
            await anyio.sleep(0.05)  # the primary publisher is long closed by now
            await lease_pub.publish(mk(trigger.component, f"follow-up-of-{trigger.subject}"))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(drain, plain, seen)
            tg.start_soon(react, reactive, tg)
            async with pub:
                await pub.publish(mk("polaris", "boom", Status.FAIL, Code.DNS_UNRESOLVABLE))
                await pub.publish(mk("polaris", "fine"))
    assert [f.subject for f in seen] == ["boom", "fine", "follow-up-of-boom"]


async def test_a_subscriber_that_leaves_early_does_not_block_publishers() -> None:
    bus = Bus(buffer=1)
    quitter, stayer = bus.subscribe("quitter"), bus.subscribe("stayer")
    pub = bus.publisher()
    bus.close()
    await quitter.aclose()
    got: list[Finding] = []
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(drain, stayer, got)
            async with pub:
                for i in range(10):
                    await pub.publish(mk("c", str(i)))
    assert len(got) == 10


async def test_windows_and_merge_use_aiostream_operators() -> None:
    bus = Bus()
    a, b, c = bus.subscribe("a", topics=["x"]), bus.subscribe("b", topics=["y"]), bus.subscribe("w")
    pub = bus.publisher()
    bus.close()
    merged: list[Finding] = []
    batches: list[list[Finding]] = []

    async def merge_all() -> None:
        async for f in merge(a, b):
            merged.append(f)

    async def window_all() -> None:
        async for batch in windows(c, 3):
            batches.append(batch)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(merge_all)
            tg.start_soon(window_all)
            async with pub:
                for i in range(7):
                    await pub.publish(mk("x" if i % 2 else "y", str(i)))
    assert sorted(f.subject for f in merged) == [str(i) for i in range(7)]
    assert [len(w) for w in batches] == [3, 3, 1]


def test_buffer_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Bus(buffer=0)


# --- property: no finding lost or duplicated under random publish/subscribe/cancel interleavings -------------

publisher_plans = st.lists(
    st.tuples(st.integers(0, 12), st.one_of(st.none(), st.integers(0, 30))),  # (items, cancel after N yields)
    min_size=1,
    max_size=4,
)
subscriber_plans = st.lists(
    st.tuples(st.sampled_from(["all", "even", "odd", "fail"]), st.one_of(st.none(), st.integers(0, 5))),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(publishers=publisher_plans, subscribers=subscriber_plans, buffer=st.integers(1, 3), reactive=st.booleans())
def test_no_finding_lost_or_duplicated(
    publishers: list[tuple[int, int | None]],
    subscribers: list[tuple[str, int | None]],
    buffer: int,
    reactive: bool,
) -> None:
    filters: dict[str, Callable[[Finding], bool]] = {
        "all": lambda f: True,
        "even": lambda f: int(f.subject.split("-")[1]) % 2 == 0,
        "odd": lambda f: int(f.subject.split("-")[1]) % 2 == 1,
        "fail": lambda f: f.status is Status.FAIL,
    }

    async def scenario() -> None:
        bus = Bus(buffer=buffer)
        subs = [
            (bus.subscribe(f"s{i}", predicate=filters[kind]), kind, quit_after)
            for i, (kind, quit_after) in enumerate(subscribers)
        ]
        react = bus.subscribe_reactive("r", predicate=filters["fail"]) if reactive else None
        pubs = [bus.publisher() for _ in publishers]
        bus.close()
        completed: set[str] = set()
        attempted: set[str] = set()
        received: list[list[str]] = [[] for _ in subs]

        async def consume(i: int, sub: Subscription[Finding], quit_after: int | None) -> None:
            async with sub:
                async for f in sub:
                    received[i].append(f.subject)
                    await anyio.lowlevel.checkpoint()
                    if quit_after is not None and len(received[i]) >= quit_after:
                        return

        async def reactor(sub: Subscription[Delivery]) -> None:
            async with sub:
                async for d in sub:
                    d.lease.close()

        async def produce(p: int, count: int, cancel_after: int | None) -> None:
            async with pubs[p]:
                with anyio.CancelScope() as scope:
                    if cancel_after is not None:
                        tg.start_soon(chaos, scope, cancel_after)
                    for j in range(count):
                        name = f"p{p}-{j}"
                        attempted.add(name)
                        status = Status.FAIL if j % 3 == 0 else Status.OK
                        await pubs[p].publish(
                            mk("c", name, status, Code.TCP_REFUSED if status is Status.FAIL else Code.CHECK_OK)
                        )
                        completed.add(name)

        async def chaos(scope: anyio.CancelScope, after: int) -> None:
            for _ in range(after):
                await anyio.lowlevel.checkpoint()
            scope.cancel()

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for i, (sub, _, quit_after) in enumerate(subs):
                    tg.start_soon(consume, i, sub, quit_after)
                if react is not None:
                    tg.start_soon(reactor, react)
                for p, (count, cancel_after) in enumerate(publishers):
                    tg.start_soon(produce, p, count, cancel_after)

        for i, (_, kind, quit_after) in enumerate(subs):
            got = received[i]
            assert len(got) == len(set(got)), f"duplicates delivered to subscriber {i}"
            assert set(got) <= attempted, "a subscriber received something never published"
            if quit_after is None:
                expected = {
                    s
                    for s in completed
                    if filters[kind](mk("c", s, Status.FAIL if int(s.split("-")[1]) % 3 == 0 else Status.OK))
                }
                assert expected <= set(got), f"subscriber {i} lost {sorted(expected - set(got))}"

    anyio.run(scenario)


async def test_closing_a_reactive_subscription_releases_its_queued_leases() -> None:
    # Each queued delivery holds a lease (a publisher clone): unless aclose releases them, the plain subscriber's
    # stream never ends and the run would wait for its deadline.
    bus = Bus(buffer=4)
    plain = bus.subscribe("plain")
    reactive = bus.subscribe_reactive("reactor", predicate=lambda f: True)
    pub = bus.publisher()
    bus.close()
    async with pub:
        await pub.publish(mk("c", "one"))
        await pub.publish(mk("c", "two"))
    await reactive.aclose()
    seen: list[Finding] = []
    with anyio.fail_after(5):
        await drain(plain, seen)
    assert [f.subject for f in seen] == ["one", "two"]


async def test_a_cancelled_reactive_send_releases_its_lease() -> None:
    bus = Bus(buffer=1)
    plain = bus.subscribe("plain", buffer=4)
    reactive = bus.subscribe_reactive("reactor", predicate=lambda f: True)
    pub = bus.publisher()
    bus.close()
    async with pub:
        await pub.publish(mk("c", "one"))  # fills the reactor's buffer
        with anyio.move_on_after(0.05):
            await pub.publish(mk("c", "two"))  # blocks on the full reactor, then is cancelled
    await reactive.aclose()
    seen: list[Finding] = []
    with anyio.fail_after(5):
        await drain(plain, seen)
    assert [f.subject for f in seen] == ["one", "two"]


def test_a_route_filters_by_topic_and_predicate_together() -> None:
    bus = Bus()
    bus.subscribe("both", topics=["a"], predicate=lambda f: f.subject == "x")
    route = bus._routes[0]
    assert route.wants(mk("a", "x"))
    assert not route.wants(mk("a", "y"))
    assert not route.wants(mk("b", "x"))
    bus.subscribe("all")
    assert bus._routes[1].wants(mk("b", "y"))
    bus.close()


def test_a_closed_publisher_cannot_be_cloned() -> None:
    bus = Bus()
    bus.subscribe("s")
    pub = bus.publisher()
    bus.close()
    assert not pub.closed
    pub.close()
    assert pub.closed
    pub.close()  # closing twice is harmless
    with pytest.raises(anyio.ClosedResourceError):
        pub.clone()
