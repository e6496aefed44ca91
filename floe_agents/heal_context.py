"""What a remediation sees: the platform it fixes, the clients to reach it, the cause it answers.

Why a context of its own (and not the probes' one): a remediation writes, so it gets exactly what a write needs —
the open Kubernetes client, the HTTP client, credentials, where each component is from this vantage, the root
cause being answered (its evidence fills parameters) and the masking every shown body goes through — and nothing
of the run's bus or coordinator. It is built once per heal by the heal engine; remediations only read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from floe_agents.config.platform import PlatformConfig
from floe_agents.config.targets import Targets
from floe_agents.declarations import Declarations
from floe_agents.redact import Redactor, redact_evidence

__all__ = ["HealContext", "NotPermittedError", "RemediationError"]


class RemediationError(Exception):
    """A remediation could not plan or carry out a step: one line saying what and why (no traceback shown)."""


class NotPermittedError(RemediationError):
    """The server refused the write (401/403): 'not permitted: needs VERB on RESOURCE'."""

    def __init__(self, verb: str, resource: str, detail: str = "") -> None:
        self.verb, self.resource = verb, resource
        super().__init__(f"not permitted: needs {verb} on {resource}" + (f" ({detail})" if detail else ""))


@dataclass(frozen=True)
class HealContext:
    targets: Targets
    http: httpx.AsyncClient
    redactor: Redactor
    declarations: Declarations
    platform: PlatformConfig | None = None
    kube: Any = None  # a kubernetes_asyncio ApiClient, or None when the targets configure no cluster
    kube_error: str | None = None
    params_source: Mapping[str, Any] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.targets.namespace

    def credential(self, name: str) -> str | None:
        """A credential the installed probes or remediations declare, resolved as probes resolve it."""
        return self.declarations.credential(name, self.targets.credentials.written())

    def url(self, component: str, endpoint: str | None = None) -> httpx.URL | None:
        """``component``'s endpoint (its first one unless named) as this run's vantage reaches it."""
        target = self.targets.components.get(component)
        if target is None:
            return None
        for name, ep in target.endpoints.items():
            if endpoint is not None and name != endpoint:
                continue
            raw = ep.url_for(self.targets.vantage)
            if raw:
                return httpx.URL(raw)
        return None

    def require_kube(self) -> Any:
        """The Kubernetes client, or a :class:`RemediationError` saying why there is none."""
        if self.kube is None:
            raise RemediationError(self.kube_error or "the targets configure no Kubernetes API (kubernetes.mode)")
        return self.kube

    def mask(self, value: Any) -> Any:
        """``value`` as it may be shown: every known secret masked (bodies of actions, states before/after)."""
        if isinstance(value, str):
            return self.redactor(value)
        if isinstance(value, Mapping):
            keyed = redact_evidence(value, self.redactor.keys)
            return {k: self.mask(v) for k, v in keyed.items()}
        if isinstance(value, list | tuple):
            return [self.mask(v) for v in value]
        return value
