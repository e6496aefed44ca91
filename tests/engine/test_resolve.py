"""Per-vantage resolvers: the hosts table with search suffixes, and lookups shared across one run's probes."""

from __future__ import annotations

import anyio
import pytest

from floe_agents.config.targets import VantageSpec
from floe_agents.resolve import (
    CannotResolveHereError,
    HostsResolver,
    ResolveError,
    SharedLookups,
    SystemResolver,
    resolvers_for,
)

pytestmark = pytest.mark.anyio


class SlowCounting:
    """A resolver that takes ``delay`` and counts its lookups; names starting with ``nx`` do not exist."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay, self.calls = delay, 0

    async def resolve(self, host: str) -> list[str]:
        self.calls += 1
        await anyio.sleep(self.delay)
        if host.startswith("nx"):
            raise ResolveError(f"{host}: Name or service not known")
        return ["10.0.0.1"]


async def test_concurrent_askers_share_one_lookup_and_its_answer() -> None:
    inner = SlowCounting()
    shared = SharedLookups(inner)
    answers: list[list[str]] = []

    async def ask() -> None:
        answers.append(await shared.resolve("minio"))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(ask)
    assert answers == [["10.0.0.1"]] * 10
    assert inner.calls == 1
    answers[0].append("mutated")  # each asker gets its own list
    assert await shared.resolve("minio") == ["10.0.0.1"]
    assert inner.calls == 1


async def test_a_failed_lookup_is_shared_too() -> None:
    inner = SlowCounting()
    shared = SharedLookups(inner)
    for _ in range(3):
        with pytest.raises(ResolveError, match="nx-host: Name or service not known"):
            await shared.resolve("nx-host")
    assert inner.calls == 1


async def test_cancelled_first_asker_lets_the_next_one_look_up() -> None:
    inner = SlowCounting(delay=0.5)
    shared = SharedLookups(inner)
    with anyio.move_on_after(0.05):
        await shared.resolve("minio")
    with anyio.fail_after(2):
        assert await shared.resolve("minio") == ["10.0.0.1"]
    assert inner.calls == 2


async def test_only_our_own_vantage_uses_the_system_resolver() -> None:
    vantages = {
        "local": VantageSpec(resolver="system"),
        "cluster": VantageSpec(resolver="hosts", hosts={"floe-infra-localstack": "10.96.0.9"}, search=["floe.svc"]),
        "elsewhere": VantageSpec(resolver="system"),
    }
    resolvers = resolvers_for(vantages, "local")
    assert await resolvers["local"].resolve("127.0.0.1") == ["127.0.0.1"]
    assert await resolvers["local"].resolve("localhost") != []
    assert await resolvers["cluster"].resolve("floe-infra-localstack.floe.svc") == ["10.96.0.9"]
    with pytest.raises(ResolveError):
        await resolvers["cluster"].resolve("nowhere")
    with pytest.raises(CannotResolveHereError):
        await resolvers["elsewhere"].resolve("floe-infra-localstack")
    assert isinstance(resolvers["cluster"], HostsResolver)


async def test_system_resolver_reports_unknown_names() -> None:
    with pytest.raises(ResolveError, match=r"does-not-exist\.invalid"):
        await SystemResolver().resolve("does-not-exist.invalid")
