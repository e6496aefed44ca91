"""Calling a probe the way the runner does, and the type of the ``make_ctx`` fixture (tests/probes/conftest.py)
that builds a real ProbeContext (real httpx client, real resolvers) over a small targets model."""

from __future__ import annotations

from collections.abc import Callable

from floe_agents.context import ProbeContext
from floe_agents.findings import Finding
from floe_agents.registry import ProbeSpec

CtxFactory = Callable[..., ProbeContext]


async def run_probe(spec: ProbeSpec, ctx: ProbeContext, trigger: Finding | None = None) -> list[Finding]:
    """Call a probe the way the runner does and insist it answered with a list of findings."""
    result = await spec.invoke(ctx, trigger)
    assert isinstance(result, list), f"{spec.name} returned {type(result).__name__}"
    # The coordinator keeps the latest finding per key: two with one key in one answer would lose the first.
    keys = [f.key for f in result]
    assert len(keys) == len(set(keys)), f"{spec.name} gave findings sharing a key: {sorted(keys)}"
    return result


__all__ = ["CtxFactory", "run_probe"]
