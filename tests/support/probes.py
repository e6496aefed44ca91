"""Calling a probe the way the runner does, and the type of the ``make_ctx`` fixture (tests/probes/conftest.py)
that builds a real ProbeContext (real httpx client, real resolvers) over a small targets model."""

from __future__ import annotations

from collections.abc import Callable

from floe_agents.context import ProbeContext
from floe_agents.findings import CannotObserveError, Finding, Status
from floe_agents.registry import ProbeSpec

CtxFactory = Callable[..., ProbeContext]


async def run_probe(spec: ProbeSpec, ctx: ProbeContext, trigger: Finding | None = None) -> list[Finding]:
    """Call a probe the way the runner does and insist it answered with a list of findings."""
    try:
        result = await spec.invoke(ctx, trigger)
    except CannotObserveError as exc:  # the runner's unknown finding for it
        return [ctx.finding(Status.UNKNOWN, exc.code, exc.summary, subject=exc.subject, evidence=exc.evidence)]
    assert isinstance(result, list), f"{spec.name} returned {type(result).__name__}"
    # The coordinator keeps the latest finding per key: two with one key in one answer would lose the first.
    keys = [f.key for f in result]
    assert len(keys) == len(set(keys)), f"{spec.name} gave findings sharing a key: {sorted(keys)}"
    return result


__all__ = ["CtxFactory", "run_probe"]
