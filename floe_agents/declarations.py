"""What probes declare about themselves, gathered for the run: credentials, finding codes, evidence keys.

The engine knows no probe. A probe says which credentials it logs in with (and which env var its platform's pods
use for each), which finding codes it can emit, and which evidence keys are secret or only look it; the run reads
those declarations instead of a list kept in the engine, so a third-party probe gets its credential, its rules
checked and its evidence redacted right without editing anything here. :class:`Declarations` is that gathered,
immutable view, built by :meth:`floe_agents.registry.Registry.declarations` and handed to every probe's context.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from floe_agents.config.platform import PlatformConfig
from floe_agents.config.targets import Targets
from floe_agents.findings import Code
from floe_agents.redact import GENERIC, EvidenceKeys, Redactor

__all__ = ["ENGINE_CODES", "Credential", "Declarations", "engine_codes"]


@dataclass(frozen=True, slots=True)
class Credential:
    """A credential a probe logs in with: looked up in the targets file's ``credentials:`` mapping under
    ``name``, else in the environment variable ``env``, else ``default``. ``secret=True`` (the default) makes
    its value redacted from every output."""

    name: str
    env: str | None = None
    default: str | None = None
    secret: bool = True
    description: str = ""


# The codes the engine itself emits (runner outcomes, and the generic reachability vocabulary probes share).
ENGINE_CODES: Mapping[str, str] = MappingProxyType(
    {
        Code.CHECK_OK: "ok: the check passed",
        Code.PROBE_CRASHED: "unknown: the probe raised an exception",
        Code.PROBE_TIMEOUT: "unknown: the probe did not finish within its timeout",
        Code.PROBE_GARBAGE: "unknown: the probe returned something that is not a finding",
        Code.PROBE_DEADLINE: "unknown: the run's deadline ended the probe",
        Code.PROBE_SKIPPED: "unknown: the probe was not run",
        Code.PLUGIN_LOAD_FAILED: "unknown: a probe plugin could not be loaded",
        Code.DNS_RESOLVED: "ok: the host name resolves",
        Code.DNS_UNRESOLVABLE: "fail: the host name does not resolve",
        Code.DNS_VANTAGE_MISMATCH: "fail: the name resolves differently from two vantages",
        Code.TCP_OPEN: "ok: the port accepts connections",
        Code.TCP_REFUSED: "fail: the connection was refused",
        Code.TCP_TIMEOUT: "fail: the connection attempt timed out",
        Code.TCP_UNREACHABLE: "fail: no route to the host",
        Code.HTTP_HEALTHY: "ok: the health endpoint answered as expected",
        Code.HTTP_UNHEALTHY: "fail: the health endpoint reports unhealthy",
        Code.HTTP_ERROR_STATUS: "fail: an unexpected HTTP status",
        Code.HTTP_TIMEOUT: "fail: no HTTP answer in time",
        Code.HTTP_BAD_RESPONSE: "fail: the answer could not be read",
        Code.HTTP_TLS_ERROR: "fail: the TLS handshake failed",
        Code.HTTP_AUTH_FAILED: "fail: the credentials were refused",
        Code.ENDPOINT_NOT_CONFIGURED: "unknown: no URL for this endpoint from this vantage",
    }
)


def engine_codes(*codes: Code) -> dict[str, str]:
    """The engine's meaning of each of ``codes``: for a probe that emits the shared vocabulary (tcp, dns, http)."""
    return {code: ENGINE_CODES[code] for code in codes}


def _frozen_map(data: Mapping[str, Credential] | None = None) -> Mapping[str, Credential]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class Declarations:
    """The declarations of every probe in a run: codes (with the engine's), credentials by name, evidence keys."""

    codes: Mapping[str, str] = field(default_factory=lambda: ENGINE_CODES)
    credentials: Mapping[str, Credential] = field(default_factory=_frozen_map)
    evidence: Mapping[str, EvidenceKeys] = field(default_factory=lambda: MappingProxyType({}))
    fixes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def credential(self, name: str, written: Mapping[str, str | None]) -> str | None:
        """``name``'s value: as written in the targets file, else from its declared env var, else its default."""
        value = written.get(name)
        if value is not None:
            return value
        declared = self.credentials.get(name)
        if declared is None:
            return None
        from_env = os.environ.get(declared.env) if declared.env else None
        return from_env if from_env is not None else declared.default

    @property
    def public_credentials(self) -> frozenset[str]:
        """The credentials declared ``secret=False`` (a client id, a region): never redacted."""
        return frozenset(n for n, c in self.credentials.items() if not c.secret)

    def redactor(self, targets: Targets, platform: PlatformConfig | None) -> Redactor:
        """The run's redactor: the secret values the targets file and the platform config hold, the secret
        credentials' values wherever the probes get them (the environment too), and every probe's declared
        evidence keys."""
        written = targets.credentials.written()
        used = [self.credential(name, written) for name, cred in self.credentials.items() if cred.secret]
        values = [*targets.secrets(self.public_credentials), *used, *(platform.inline_secrets() if platform else [])]
        return Redactor.of(values, self.all_evidence_keys)

    def evidence_keys(self, check: str) -> EvidenceKeys:
        """The evidence keys probe ``check`` declared (none for a check no probe declares)."""
        return self.evidence.get(check, GENERIC)

    @property
    def all_evidence_keys(self) -> EvidenceKeys:
        """Every probe's keys together, for text that names no probe (the rendered report, logs)."""
        out = GENERIC
        for keys in self.evidence.values():
            out = out.merged(keys)
        return out
