"""Resolve a host from one vantage or from every vantage: the one way probes compare DNS across vantages.

"Resolves here, not there" is the signature of an endpoint mismatch, so several probes ask where a host
resolves: the dns and tcp probes for their own endpoints, the resolve_everywhere follow-up, the endpoints and s3
probes for handed-out URLs, the catalog probes for storage endpoints. Each used to write the loop itself, with
its own idea of a vantage that has no resolver or cannot be observed from here. :func:`resolve_from` gives one
:class:`Resolution` per vantage (resolved, failed, or unobservable, and why), never raising;
:func:`resolve_everywhere` asks every vantage at once, in the order given.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import anyio

from floe_agents.context import ProbeContext
from floe_agents.gather import gather
from floe_agents.resolve import CannotResolveHereError, ResolveError

__all__ = ["NO_RESOLVER", "Resolution", "resolve_everywhere", "resolve_from"]

NO_RESOLVER = "no resolver"


@dataclass(frozen=True)
class Resolution:
    """Where ``host`` resolves from one vantage: ``ok`` (addresses), ``fail`` or ``unobservable`` (reason)."""

    vantage: str
    outcome: Literal["ok", "fail", "unobservable"]
    addresses: tuple[str, ...] = ()
    reason: str = ""
    has_resolver: bool = True  # False: the targets give this vantage no resolver at all
    timed_out: bool = False


async def resolve_from(ctx: ProbeContext, vantage: str, host: str, *, timeout_s: float | None = None) -> Resolution:
    """Resolve ``host`` from ``vantage`` (within ``timeout_s``, when given)."""
    resolver = ctx.resolver(vantage)
    if resolver is None:
        return Resolution(vantage, "unobservable", reason=NO_RESOLVER, has_resolver=False)
    try:
        with anyio.fail_after(timeout_s):
            addresses = await resolver.resolve(host)
    except TimeoutError:
        return Resolution(vantage, "fail", reason=f"no answer within {timeout_s:g}s", timed_out=True)
    except ResolveError as exc:
        return Resolution(vantage, "fail", reason=str(exc))
    except CannotResolveHereError as exc:
        return Resolution(vantage, "unobservable", reason=str(exc))
    return Resolution(vantage, "ok", tuple(addresses))


async def resolve_everywhere(
    ctx: ProbeContext, host: str, vantages: Iterable[str] | None = None, *, timeout_s: float | None = None
) -> list[Resolution]:
    """Resolve ``host`` from each of ``vantages`` (default: every declared vantage) concurrently, in that order."""
    names = dict.fromkeys(ctx.targets.vantages if vantages is None else vantages)
    return await gather(functools.partial(resolve_from, ctx, vantage, host, timeout_s=timeout_s) for vantage in names)
