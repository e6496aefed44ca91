"""Name resolution per vantage.

"Does this host resolve?" has no single answer: ``floe-infra-localstack`` resolves inside the cluster and not on a
laptop, and the catalog server resolves names from *its* pod. Each vantage gets a resolver: the system resolver
for the vantage this process runs in, a static hosts table (with resolv.conf-style search suffixes) for one we can
describe, or none when we cannot know (the check is then ``unknown``, never a false ``fail``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import anyio

from floe_agents.config.targets import VantageSpec
from floe_agents.once import OncePerRun

__all__ = [
    "CannotResolveHereError",
    "HostsResolver",
    "ResolveError",
    "Resolver",
    "SharedLookups",
    "SystemResolver",
    "is_ip",
    "resolvers_for",
]


class ResolveError(Exception):
    """The name does not resolve from this vantage (NXDOMAIN, no address)."""


class CannotResolveHereError(Exception):
    """This vantage's resolution cannot be observed from where the tool runs."""


class Resolver(Protocol):
    async def resolve(self, host: str) -> list[str]: ...


def is_ip(host: str) -> bool:
    """Whether ``host`` is an IPv4/IPv6 literal (which every vantage "resolves" to itself)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SystemResolver:
    """This process's own resolver (getaddrinfo in a worker thread, via anyio)."""

    async def resolve(self, host: str) -> list[str]:
        if is_ip(host):
            return [host]
        try:
            infos = await anyio.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ResolveError(f"{host}: {exc.strerror or exc}") from None
        return sorted({str(info[4][0]) for info in infos})


class SharedLookups:
    """One lookup per host per run, shared by every probe that asks; concurrent askers wait for the first.

    A dozen probes resolve the same few names (the catalog's storage host once per table), and a system resolver
    can stall for its whole retry timeout (5 s in glibc's default resolv.conf) when a DNS packet is lost: a run
    pays for that once, not once per asker. If the asker doing the lookup is cancelled, the next one retries.
    """

    def __init__(self, inner: Resolver) -> None:
        self._inner = inner
        self._once = OncePerRun()

    async def _lookup(self, host: str) -> list[str] | ResolveError | CannotResolveHereError:
        try:
            return await self._inner.resolve(host)
        except (ResolveError, CannotResolveHereError) as exc:
            return exc  # an answer too: kept, so a name that does not resolve is not asked again

    async def resolve(self, host: str) -> list[str]:
        answer = await self._once.get(host, lambda: self._lookup(host))
        if isinstance(answer, Exception):
            raise type(answer)(str(answer))
        return list(answer)


@dataclass(frozen=True)
class HostsResolver:
    """A static table, tried as-is and with each search suffix stripped or appended like a pod's resolv.conf."""

    hosts: Mapping[str, str] = field(default_factory=dict)
    search: Sequence[str] = ()

    async def resolve(self, host: str) -> list[str]:
        if is_ip(host):
            return [host]
        for name in [host, *(f"{host}.{suffix}" for suffix in self.search)]:
            if name in self.hosts:
                return [self.hosts[name]]
            for suffix in self.search:
                short = name[: -len(suffix) - 1]
                if name.endswith("." + suffix) and short in self.hosts:
                    return [self.hosts[short]]
        raise ResolveError(f"{host}: not found in this vantage's hosts table")


@dataclass(frozen=True)
class _NoResolver:
    vantage: str

    async def resolve(self, host: str) -> list[str]:
        if is_ip(host):
            return [host]
        raise CannotResolveHereError(f"resolution from vantage {self.vantage!r} cannot be observed from here")


def resolvers_for(vantages: Mapping[str, VantageSpec], own: str) -> dict[str, Resolver]:
    """A resolver per declared vantage, for one run. ``system`` is honoured only for our own vantage (another
    vantage's DNS is not ours to query), with lookups shared across the run's probes."""
    out: dict[str, Resolver] = {}
    for name, spec in vantages.items():
        if spec.resolver == "hosts":
            out[name] = HostsResolver(dict(spec.hosts), tuple(spec.search))
        elif spec.resolver == "system" and name == own:
            out[name] = SharedLookups(SystemResolver())
        else:
            out[name] = _NoResolver(name)
    return out
