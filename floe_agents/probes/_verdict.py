"""One result-or-error shape for a probe's checks: :class:`Verdict`, and one way to turn it into a finding.

A check ends in a status, a code, a summary and evidence, filed under a subject (and sometimes a component or a
severity of its own). Said as a 4-tuple in one probe, a NamedTuple in another and an ``(api, why)`` pair in a
third, each shape needed its own unpacking and its own ``ctx.finding`` call; a Verdict is that result once,
frozen, and :meth:`Verdict.finding` is the one place it becomes a :class:`~floe_agents.findings.Finding`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Severity, Status

__all__ = ["Verdict"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check, ready to be filed (``component`` None: the probe's own component)."""

    status: Status
    code: str
    summary: str
    evidence: Mapping[str, object] = field(default_factory=dict)
    subject: str = ""
    component: str | None = None
    severity: Severity | None = None  # None: the status's default

    def finding(self, ctx: ProbeContext, *, subject: str | None = None, vantage: str | None = None) -> Finding:
        """This verdict as ``ctx``'s finding (``subject`` overrides the verdict's own)."""
        return ctx.finding(
            self.status,
            self.code,
            self.summary,
            subject=self.subject if subject is None else subject,
            evidence=self.evidence,
            component=self.component,
            severity=self.severity,
            vantage=vantage,
        )
