"""Fixtures for the probe tests: a real ProbeContext (real httpx client, real resolvers) over a small targets
model, and loopback ports in the states a probe must tell apart (helpers: tests/support/net.py, probes.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext, Services
from floe_agents.resolve import resolvers_for
from floe_agents.transport import RunTransport
from tests.support import net
from tests.support.probes import CtxFactory


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


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client, for contexts a test builds by hand."""
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port that accepts connections."""
    with net.listener() as port:
        yield port


@pytest.fixture
def black_holed_port() -> Iterator[int]:
    """A loopback port that never answers a SYN."""
    with net.black_hole() as port:
        yield port
