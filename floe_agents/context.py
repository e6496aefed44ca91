"""What a probe gets to work with: the only door between a probe and the world.

Everything a probe touches arrives here — the component's targets, the platform config, the shared HTTP client
(whose transport is the test seam), per-vantage resolvers, the findings of the probes it runs after — so probes
stay pure functions of their context and never import the engine. ``ctx.finding(...)`` fills in component, check,
vantage and timings so probes only say what they saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx

from floe_agents.config.platform import PlatformConfig
from floe_agents.config.targets import ComponentTarget, EndpointTarget, Targets
from floe_agents.declarations import Declarations
from floe_agents.findings import Code, Finding, Severity, Status
from floe_agents.once import OncePerRun
from floe_agents.registry import Registry
from floe_agents.resolve import Resolver

__all__ = ["Endpoint", "KubeHandle", "ProbeContext", "Services"]


def installed_declarations() -> Declarations:
    """The declarations of the installed probes (the default for a context built without a registry: tests)."""
    return Registry.from_entry_points().declarations()


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One endpoint URL of the component, as seen from one vantage."""

    name: str
    vantage: str
    url: httpx.URL
    target: EndpointTarget

    @property
    def host(self) -> str:
        return self.url.host

    @property
    def port(self) -> int | None:
        if self.url.port is not None:
            return self.url.port
        return {"http": 80, "https": 443, "postgresql": 5432, "grpc": 80}.get(self.url.scheme)


class KubeHandle:
    """The run's Kubernetes API client, which the swarm opens beside the first probes rather than before them.

    Loading a kubeconfig can take a second (an exec credential plugin such as ``aws eks get-token``) and building
    the client loads CA certificates; the probes that never talk to the cluster should not wait for either, and
    a run that skips the cluster's probes never opens it.
    ``get()`` waits until the client is open and returns (ApiClient or None, why it is None when that is a
    failure); None with no reason means the targets configure no Kubernetes API.
    """

    def __init__(self) -> None:
        self._wanted = anyio.Event()
        self._ready = anyio.Event()
        self._api: Any = None
        self._error: str | None = None

    @classmethod
    def of(cls, api: Any, error: str | None = None) -> KubeHandle:
        """A handle that is ready at once (tests, and callers that opened the client themselves)."""
        handle = cls()
        handle.set(api, error)
        return handle

    def set(self, api: Any, error: str | None = None) -> None:
        self._api, self._error = api, error
        self._ready.set()

    async def wanted(self) -> None:
        """Wait until a probe asks for the client (the swarm opens it only then, behind the probes already running)."""
        await self._wanted.wait()

    async def get(self) -> tuple[Any, str | None]:
        self._wanted.set()
        await self._ready.wait()
        return self._api, self._error


@dataclass(frozen=True)
class Services:
    """Shared clients for a run; owned and closed by the swarm (``kube``: see :class:`KubeHandle`)."""

    http: httpx.AsyncClient
    resolvers: Mapping[str, Resolver]
    kube: KubeHandle = field(default_factory=lambda: KubeHandle.of(None))
    once: OncePerRun = field(default_factory=OncePerRun)  # what probes ask the platform for once per run
    # What the run's probes declare: where ctx.credential() looks, how each probe's evidence is redacted.
    declarations: Declarations = field(default_factory=installed_declarations)


@dataclass(frozen=True)
class ProbeContext:
    component: str
    check: str
    targets: Targets
    services: Services
    platform: PlatformConfig | None = None
    prior: tuple[Finding, ...] = ()
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def vantage(self) -> str:
        """The vantage this run observes from."""
        return self.targets.vantage

    @property
    def target(self) -> ComponentTarget | None:
        return self.targets.components.get(self.component)

    @property
    def http(self) -> httpx.AsyncClient:
        return self.services.http

    def credential(self, name: str) -> str | None:
        """A credential from the targets file, else from the environment variable the probes declaring it name
        (the one Floe's pods use), else its declared default."""
        return self.services.declarations.credential(name, self.targets.credentials.written())

    def resolver(self, vantage: str) -> Resolver | None:
        return self.services.resolvers.get(vantage)

    def endpoints(self, vantage: str | None = None) -> list[Endpoint]:
        """This component's endpoints as seen from ``vantage`` (default: our own)."""
        vantage = vantage or self.vantage
        target = self.target
        if target is None:
            return []
        out = []
        for name, ep in target.endpoints.items():
            raw = ep.url_for(vantage)
            if raw:
                out.append(Endpoint(name, vantage, httpx.URL(raw), ep))
        return out

    def all_endpoints(self) -> list[Endpoint]:
        """This component's endpoints from every vantage that has a URL for them."""
        return [e for v in self.targets.vantages for e in self.endpoints(v)]

    def for_check(self, check: str, prior: tuple[Finding, ...] = ()) -> ProbeContext:
        return replace(self, check=check, prior=prior, started_at=datetime.now(UTC))

    def for_component(self, component: str) -> ProbeContext:
        return replace(self, component=component)

    def finding(
        self,
        status: Status,
        code: Code | str,
        summary: str,
        *,
        severity: Severity | None = None,
        subject: str = "",
        evidence: Mapping[str, Any] | None = None,
        vantage: str | None = None,
        component: str | None = None,
        follow_up_of: str | None = None,
    ) -> Finding:
        if severity is None:
            severity = {
                Status.OK: Severity.INFO,
                Status.UNKNOWN: Severity.LOW,
                Status.WARN: Severity.MEDIUM,
                Status.FAIL: Severity.HIGH,
            }[status]
        fields = {
            "component": component or self.component,
            "check": self.check,
            "status": status,
            "severity": severity,
            "code": code,
            "summary": summary,
            "subject": subject,
            "evidence": dict(evidence or {}),
            "vantage": vantage or self.vantage,
            "started_at": self.started_at,
            "finished_at": datetime.now(UTC),
            "follow_up_of": follow_up_of,
        }
        # The evidence is redacted with what this probe declared about its keys (see floe_agents.redact).
        return Finding.model_validate(fields, context=self.services.declarations.evidence_keys(self.check))
