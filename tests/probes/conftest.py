"""Probe test helpers: a real ProbeContext (real httpx client, real resolvers) over a small targets model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext, Services
from floe_agents.findings import Finding
from floe_agents.registry import ProbeSpec
from floe_agents.resolve import resolvers_for
from floe_agents.transport import RunTransport

CtxFactory = Callable[..., ProbeContext]


@pytest.fixture
async def make_ctx() -> AsyncIterator[CtxFactory]:
    async with httpx.AsyncClient(transport=RunTransport()) as http:  # the transport investigate uses

        def factory(
            component: str,
            endpoints: dict[str, Any],
            *,
            check: str = "t",
            vantages: dict[str, Any] | None = None,
            vantage: str = "local",
        ) -> ProbeContext:
            targets = Targets.model_validate(
                {
                    "vantage": vantage,
                    "vantages": vantages or {"local": {"resolver": "system"}},
                    "components": {component: {"endpoints": endpoints}},
                }
            )
            services = Services(http=http, resolvers=resolvers_for(targets.vantages, targets.vantage))
            return ProbeContext(component=component, check=check, targets=targets, services=services)

        yield factory


async def run_probe(spec: ProbeSpec, ctx: ProbeContext, trigger: Finding | None = None) -> list[Finding]:
    """Call a probe the way the runner does and insist it answered with a list of findings."""
    result = await spec.invoke(ctx, trigger)
    assert isinstance(result, list), f"{spec.name} returned {type(result).__name__}"
    # The coordinator keeps the latest finding per key: two with one key in one answer would lose the first.
    keys = [f.key for f in result]
    assert len(keys) == len(set(keys)), f"{spec.name} gave findings sharing a key: {sorted(keys)}"
    return result
