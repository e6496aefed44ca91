"""Calling a probe the way the runner does, and the type of the ``make_ctx`` fixture (tests/probes/conftest.py)
that builds a real ProbeContext (real httpx client, real resolvers) over a small targets model; and a probe that
reads JSON over HTTP (``probes._http``) against each class of ``bad_server()``."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable

from floe_agents.config.platform import PlatformConfig
from floe_agents.context import ProbeContext
from floe_agents.findings import CannotObserveError, Finding, Status
from floe_agents.registry import ProbeSpec
from tests.support.net import bad_server

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


def finding_per_code(findings: list[Finding], declared: Iterable[str]) -> dict[str, Finding]:
    """The findings by code (the last of a code wins), every code one the probe ``declared``."""
    assert {f.code for f in findings} <= set(declared), sorted({f.code for f in findings} - set(declared))
    return {f.code: f for f in findings}


def grouped_by_code(findings: list[Finding], declared: Iterable[str]) -> dict[str, list[Finding]]:
    """The findings grouped by code, every code one the probe ``declared``."""
    assert {f.code for f in findings} <= set(declared), sorted({f.code for f in findings} - set(declared))
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.code, []).append(f)
    return out


def bad_answers(check: str, not_the_service: str) -> list[tuple[str, str, str]]:
    """``(bad_server class, code, reason)`` for a probe that reads JSON through ``probes._http``: a timeout is
    ``<check>.unreachable``, 401 and 403 ``<check>.auth_failed``, the rest ``<check>.bad_response``;
    ``not_the_service`` is the reason for valid JSON that is not the service's answer (``ok-json``)."""
    return [
        ("slow", f"{check}.unreachable", "timeout"),
        ("error", f"{check}.bad_response", "http_status"),
        ("notjson", f"{check}.bad_response", "not_json"),
        ("truncated", f"{check}.bad_response", "truncated"),
        ("auth", f"{check}.auth_failed", "auth"),
        ("forbidden", f"{check}.auth_failed", "auth"),
        ("ok-json", f"{check}.bad_response", not_the_service),
    ]


async def finding_from_bad_server(
    make_ctx: CtxFactory, spec: ProbeSpec, kind: str, endpoint: str, platform: PlatformConfig
) -> Finding:
    """The one finding of ``spec`` for the component named as the probe, its ``endpoint`` at ``bad_server()``'s
    ``kind`` class, within 2 s (set the probe's request timeout below that for ``slow``)."""
    async with bad_server() as base:
        ctx = make_ctx(spec.name, {endpoint: {"urls": {"local": f"{base}/{kind}"}}})
        ctx = dataclasses.replace(ctx, platform=platform)
        start = time.monotonic()
        [finding] = await run_probe(spec, ctx)
    assert time.monotonic() - start < 2
    return finding


__all__ = ["CtxFactory", "bad_answers", "finding_from_bad_server", "finding_per_code", "grouped_by_code", "run_probe"]
