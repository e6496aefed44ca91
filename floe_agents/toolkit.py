"""The probe toolkit: everything a probe (ours or a third party's) builds with, from one public import path.

A probe is a function of its context that returns findings; what it needs beyond that is the same few tools every
probe in ``floe_agents/probes`` uses: declare it (``probe``, ``follow_up``, ``Credential``), ask a server one HTTP
question and get one answer type back (``call_json``, ``Answer``, ``read`` into a typed model, ``problem`` for the
standard failure), ask several at once (``gather``), resolve a host from every vantage (``resolve_everywhere``),
say what was seen (``Verdict``, ``Finding``, ``Status``) and say that something cannot be observed from here
(``CannotObserveError``). The modules behind these names are private and may move; this list is the promise.
"""

from __future__ import annotations

from floe_agents.context import Endpoint, ProbeContext
from floe_agents.declarations import Credential
from floe_agents.findings import CannotObserveError, Code, Finding, Severity, Status
from floe_agents.gather import gather
from floe_agents.probes._http import UNREACHABLE, Answer, call_json, failure_reason, problem, read, under
from floe_agents.probes._vantages import Resolution, resolve_everywhere, resolve_from
from floe_agents.probes._verdict import Verdict
from floe_agents.registry import follow_up, probe

__all__ = [
    "UNREACHABLE",
    "Answer",
    "CannotObserveError",
    "Code",
    "Credential",
    "Endpoint",
    "Finding",
    "ProbeContext",
    "Resolution",
    "Severity",
    "Status",
    "Verdict",
    "call_json",
    "failure_reason",
    "follow_up",
    "gather",
    "probe",
    "problem",
    "read",
    "resolve_everywhere",
    "resolve_from",
    "under",
]
