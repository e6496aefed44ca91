"""Findings: the one typed message every agent posts on the bus.

A finding is what a probe observed, from where, when, and how bad it is. Everything downstream (coordinator,
root-cause rules, report, exit code, later the healer) keys on the machine ``code`` and ``status``, never on the
human ``summary``, so codes are a closed vocabulary: :class:`Code` for the built-in ones, or a namespaced
string (``"vendor.thing_broke"``) for third-party probes. Findings are frozen so a subscriber can never mutate what
another subscriber sees, and their evidence is redacted as the model is built, so no code path can leak a secret
that happened to be captured in evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from floe_agents.redact import GENERIC, EvidenceKeys, redact_evidence

__all__ = ["PRODUCED_BY", "CannotObserveError", "Code", "CodeStr", "Finding", "Severity", "Status", "worst_status"]

# Evidence key: the components expected to *produce* what a finding found missing (traces, lineage). Silence in
# Jaeger is a symptom of the pipeline that should have sent them, not of Jaeger: root-cause analysis treats these
# components as the finding's upstream, alongside its own component.
PRODUCED_BY = "produced_by"


class Status(StrEnum):
    """Outcome of one check. ``unknown`` means the check could not decide (crashed, timed out, skipped)."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """Badness order used to pick the worst status: ok < unknown < warn < fail."""
        return _STATUS_RANK[self]


_STATUS_RANK = {Status.OK: 0, Status.UNKNOWN: 1, Status.WARN: 2, Status.FAIL: 3}


def worst_status(statuses: Any) -> Status:
    """The worst of ``statuses`` (``ok`` for none)."""
    worst = Status.OK
    for status in statuses:
        if status.rank > worst.rank:
            worst = status
    return worst


class Severity(IntEnum):
    """How much a non-ok finding matters to the platform; used to rank root causes."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


class Code(StrEnum):
    """Built-in finding codes, namespaced ``<area>.<what>``. Third-party probes may use their own namespace."""

    # generic outcomes of running a probe
    CHECK_OK = "check.ok"
    PROBE_CRASHED = "probe.crashed"
    PROBE_TIMEOUT = "probe.timeout"
    PROBE_GARBAGE = "probe.garbage"
    PROBE_DEADLINE = "probe.deadline_exceeded"
    PROBE_SKIPPED = "probe.skipped"
    PLUGIN_LOAD_FAILED = "plugin.load_failed"
    # reachability
    DNS_RESOLVED = "dns.resolved"
    DNS_UNRESOLVABLE = "dns.unresolvable"
    DNS_VANTAGE_MISMATCH = "dns.vantage_mismatch"
    TCP_OPEN = "tcp.open"
    TCP_REFUSED = "tcp.refused"
    TCP_TIMEOUT = "tcp.timeout"
    TCP_UNREACHABLE = "tcp.unreachable"
    HTTP_HEALTHY = "http.healthy"
    HTTP_UNHEALTHY = "http.unhealthy"
    HTTP_ERROR_STATUS = "http.error_status"
    HTTP_TIMEOUT = "http.timeout"
    HTTP_BAD_RESPONSE = "http.bad_response"
    HTTP_TLS_ERROR = "http.tls_error"
    HTTP_AUTH_FAILED = "http.auth_failed"
    ENDPOINT_NOT_CONFIGURED = "endpoint.not_configured"


_NAMESPACED = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$")


def _check_code(value: str) -> str:
    if isinstance(value, Code):
        return value
    try:
        return Code(value)
    except ValueError:
        pass
    if not _NAMESPACED.match(value):
        msg = f"finding code {value!r} is neither a built-in Code nor a namespaced 'area.what' string"
        raise ValueError(msg)
    return value


CodeStr = Annotated[str, Field(description="A built-in Code value or a namespaced 'area.what' string.")]


def _now() -> datetime:
    return datetime.now(UTC)


class Finding(BaseModel):
    """One observation by one probe, from one vantage. Immutable; evidence is redacted on construction."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    component: str = Field(min_length=1, description="Component the finding is about, e.g. 'polaris'.")
    check: str = Field(min_length=1, description="Probe (check) name that produced it, e.g. 'tcp'.")
    status: Status
    severity: Severity = Severity.INFO
    code: CodeStr
    summary: str = Field(description="One human sentence. Never the only carrier of meaning: see code.")
    subject: str = Field(default="", description="What inside the component, e.g. a host, bucket or table.")
    evidence: Mapping[str, Any] = Field(default_factory=dict)
    vantage: str = Field(default="local", description="Where it was observed from, e.g. 'local', 'cluster'.")
    started_at: datetime = Field(default_factory=_now)
    finished_at: datetime = Field(default_factory=_now)
    follow_up_of: str | None = Field(default=None, description="Key of the finding that triggered this check.")

    @field_validator("code", mode="before")
    @classmethod
    def _validate_code(cls, value: Any) -> str:
        if not isinstance(value, str):
            msg = f"finding code must be a string, got {type(value).__name__}"
            raise TypeError(msg)
        return _check_code(value)

    @field_validator("evidence", mode="before")
    @classmethod
    def _redact(cls, value: Any, info: ValidationInfo) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            msg = f"evidence must be a mapping, got {type(value).__name__}"
            raise TypeError(msg)
        keys = info.context if isinstance(info.context, EvidenceKeys) else GENERIC  # what the probe declared
        return redact_evidence(value, keys)

    @property
    def key(self) -> str:
        """Identity of the thing observed: the same check on the same subject from the same vantage."""
        return f"{self.component}/{self.check}/{self.subject}@{self.vantage}"

    @property
    def producers(self) -> tuple[str, ...]:
        """Components named under :data:`PRODUCED_BY` in the evidence (empty when none)."""
        listed = self.evidence.get(PRODUCED_BY)
        return tuple(str(c) for c in listed) if isinstance(listed, list | tuple) else ()

    @property
    def is_problem(self) -> bool:
        """True for anything that is not ``ok``."""
        return self.status is not Status.OK

    @property
    def duration_s(self) -> float:
        return max(0.0, (self.finished_at - self.started_at).total_seconds())


class CannotObserveError(Exception):
    """A probe cannot observe its check from this vantage (no Kubernetes API, a name only the cluster resolves).

    That is not a failure of the component, so it must never read as one: raise this from anywhere inside a probe
    and the runner reports one ``unknown`` finding with this code, summary and evidence, instead of a crash."""

    def __init__(
        self, code: str, summary: str, *, subject: str = "", evidence: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(summary)
        self.code, self.summary, self.subject = code, summary, subject
        self.evidence: dict[str, Any] = dict(evidence or {})
