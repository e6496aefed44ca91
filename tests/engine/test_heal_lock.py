"""The heal Lease against the lab's Kubernetes API with the real client: one holder, who it is, expiry, races."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from kubernetes_asyncio import client

from floe_agents.heal.lock import LEASE_NAME, LEASE_SECONDS, LockHeldError, _expired, _release, heal_lock
from floe_lab.kube import KubeStore, client_configuration, serve

NS = "floe"


@pytest.fixture
async def api() -> AsyncIterator[Any]:
    async with serve(KubeStore(), token="t") as url, client.ApiClient(client_configuration(url, "t")) as api:
        core: Any = client.CoreV1Api(api)
        await core.create_namespace({"metadata": {"name": NS}})
        yield api


async def _holder(api: Any) -> str | None:
    lease = await client.CoordinationV1Api(api).read_namespaced_lease(LEASE_NAME, NS)
    holder: str | None = lease.spec.holder_identity
    return holder


async def test_a_second_heal_is_told_who_holds_the_lease_and_may_take_it_once_released(api: Any) -> None:
    with anyio.fail_after(20):
        async with heal_lock(api, NS, identity="heal-one") as me:
            assert me == "heal-one" and await _holder(api) == "heal-one"
            pattern = rf"Lease {NS}/{LEASE_NAME}: heal-one \(since \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\)$"
            with pytest.raises(LockHeldError, match=pattern) as held:
                async with heal_lock(api, NS, identity="heal-two"):
                    raise AssertionError("must not get the lock")
            assert held.value.holder == "heal-one"
            assert await _holder(api) == "heal-one"  # the loser did not disturb it
            await _release(client.CoordinationV1Api(api), NS, "heal-two")  # nor may it clear another's lease
            assert await _holder(api) == "heal-one"
        assert await _holder(api) is None  # released
        async with heal_lock(api, NS, identity="heal-two"):
            assert await _holder(api) == "heal-two"


async def test_an_expired_lease_is_taken_over_and_counts_a_transition(api: Any) -> None:
    leases = client.CoordinationV1Api(api)
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    spec = client.V1LeaseSpec(
        holder_identity="crashed-heal", lease_duration_seconds=60, acquire_time=long_ago, renew_time=long_ago
    )
    await leases.create_namespaced_lease(NS, client.V1Lease(metadata=client.V1ObjectMeta(name=LEASE_NAME), spec=spec))
    with anyio.fail_after(20):
        async with heal_lock(api, NS, identity="heal-new"):
            lease = await leases.read_namespaced_lease(LEASE_NAME, NS)
            assert lease.spec.holder_identity == "heal-new" and lease.spec.lease_transitions == 1


async def test_of_two_heals_racing_for_the_lease_exactly_one_wins(api: Any) -> None:
    outcomes: dict[str, str] = {}
    inside = anyio.Event()
    done = anyio.Event()

    async def contender(name: str) -> None:
        try:
            async with heal_lock(api, NS, identity=name):
                outcomes[name] = "won"
                inside.set()
                await done.wait()
        except LockHeldError as exc:
            outcomes[name] = f"lost to {exc.holder}"
            done.set()

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(contender, "a")
            tg.start_soon(contender, "b")
    assert sorted(outcomes.values())[1] == "won"
    winner = next(n for n, o in outcomes.items() if o == "won")
    assert sorted(outcomes.values())[0] == f"lost to {winner}"


def _spec(holder: str | None, *, renewed_ago: float | None, acquired_ago: float | None = None,
          duration: int | None = 60) -> Any:  # fmt: skip
    now = datetime.now(UTC)
    ago = {k: None if v is None else now - timedelta(seconds=v) for k, v in (("r", renewed_ago), ("a", acquired_ago))}
    return client.V1LeaseSpec(holder_identity=holder, renew_time=ago["r"], acquire_time=ago["a"],
                              lease_duration_seconds=duration)  # fmt: skip


def test_a_lease_expires_when_its_duration_has_passed_since_it_was_last_renewed_or_acquired() -> None:
    now = datetime.now(UTC)
    assert not _expired(_spec("h", renewed_ago=10), now)
    assert _expired(_spec("h", renewed_ago=61), now)
    assert not _expired(_spec("h", renewed_ago=None, acquired_ago=10), now)  # never renewed: acquisition counts
    assert _expired(_spec("h", renewed_ago=None, acquired_ago=61), now)
    assert _expired(_spec(None, renewed_ago=1), now)  # released: nobody holds it
    assert _expired(_spec("h", renewed_ago=None), now)  # no time at all: cannot be current
    assert not _expired(_spec("h", renewed_ago=LEASE_SECONDS - 30, duration=None), now)  # the default duration
    assert _expired(_spec("h", renewed_ago=LEASE_SECONDS + 30, duration=None), now)
    edge = _spec("h", renewed_ago=60)
    assert not _expired(edge, edge.renew_time + timedelta(seconds=60))  # exactly at the end: still held
