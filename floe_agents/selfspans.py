"""A run's events as spans: one per agent (its component), per probe under its agent, per follow-up under the run.

Why an observer that writes the spans when the run is over: probes stay untouched (they know nothing of tracing),
and the events a run tells (:mod:`floe_agents.events`) already say when each agent started and ended and how long
each probe took; the findings say what each probe found and when. Findings reach observers through the bus, a
moment after the agent that posted them may have finished, so the spans are made by :meth:`RunSpans.close`, once
every event is in, with the times the events and findings carry. Every span has the attributes ``component``,
``code`` (the worst finding's, ``""`` for none) and ``status`` (``ok``/``warn``/``fail``/``unknown``); a failing
one also has the OpenTelemetry status ERROR.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from opentelemetry.trace import Span, StatusCode, Tracer, set_span_in_context

from floe_agents.events import (
    AgentDeadlineHit,
    AgentFinished,
    AgentStarted,
    FindingPosted,
    FollowUpLaunched,
    RunEvent,
)
from floe_agents.findings import Finding, Status
from floe_agents.heal.model import AppliedFix

__all__ = ["RunSpans", "child_span", "outcome", "remediation_span"]

_NS = 1_000_000_000


def _ns(at: datetime) -> int:
    return int(at.timestamp() * _NS)


def outcome(findings: Iterable[Finding]) -> tuple[Status, str]:
    """The worst status among ``findings`` and that finding's code (``ok`` and ``""`` for none)."""
    worst: Finding | None = None
    for f in findings:
        if worst is None or (f.status.rank, f.severity) > (worst.status.rank, worst.severity):
            worst = f
    return (worst.status, str(worst.code)) if worst is not None else (Status.OK, "")


def attributes(component: str, status: Status, code: str, **more: str) -> dict[str, str]:
    return {"component": component, "code": code, "status": status.value, **more}


def end_span(span: Span, status: Status, code: str, end_ns: int) -> None:
    """End ``span``; a failure is the span's error status, with its code as the description."""
    if status is Status.FAIL:
        span.set_status(StatusCode.ERROR, code)
    span.end(end_time=end_ns)


@dataclass
class _Agent:
    started_ns: int
    finished: AgentFinished | None = None
    finished_ns: int = 0
    unfinished: tuple[str, ...] = ()


@dataclass
class RunSpans:
    """Observer of one investigation: pass it to ``investigate(plan, observers=[...])``, then call :meth:`close`."""

    tracer: Tracer
    parent: Span
    _agents: dict[str, _Agent] = field(default_factory=dict)
    _launched: list[tuple[FollowUpLaunched, int]] = field(default_factory=list)
    _found: dict[tuple[str, str, str | None], list[Finding]] = field(default_factory=dict)

    def __call__(self, event: RunEvent) -> None:
        now = time.time_ns()
        match event:
            case AgentStarted(component=component):
                self._agents[component] = _Agent(now)
            case AgentDeadlineHit(component=component, unfinished=unfinished):
                self._agents.setdefault(component, _Agent(now)).unfinished = unfinished
            case AgentFinished(component=component):
                agent = self._agents.setdefault(component, _Agent(now))
                agent.finished, agent.finished_ns = event, now
            case FollowUpLaunched():
                self._launched.append((event, now))
            case FindingPosted(finding=f):
                self._found.setdefault((f.component, f.check, f.follow_up_of), []).append(f)
            case _:
                pass

    def close(self) -> None:
        """Write the spans of everything the run did (call once, after ``investigate`` returned)."""
        end_ns = time.time_ns()
        for component, agent in self._agents.items():
            self._agent(component, agent, end_ns)
        for launched, at_ns in self._launched:
            component = launched.trigger.split("/", 1)[0]
            found = [f for (c, check, trigger), fs in self._found.items() for f in fs
                     if check == launched.probe and trigger == launched.trigger]  # fmt: skip
            status, code = outcome(found)
            done_ns = max((_ns(f.finished_at) for f in found), default=end_ns)
            span = self.tracer.start_span(
                f"follow-up {launched.probe}",
                context=set_span_in_context(self.parent),
                start_time=at_ns,
                attributes=attributes(
                    found[0].component if found else component, status, code,
                    probe=launched.probe, trigger=launched.trigger, trigger_code=launched.code,
                ),
            )  # fmt: skip
            end_span(span, status, code, max(done_ns, at_ns))

    def _agent(self, component: str, agent: _Agent, end_ns: int) -> None:
        finished_ns = agent.finished_ns or end_ns
        timings: Mapping[str, float] = agent.finished.probes if agent.finished is not None else {}
        mine = {check: fs for (c, check, trigger), fs in self._found.items() if c == component and trigger is None}
        names = [*timings, *(n for n in agent.unfinished if n not in timings)]
        names += [n for n in mine if n not in names]
        status, code = outcome(f for fs in mine.values() for f in fs)
        span = self.tracer.start_span(
            f"agent {component}",
            context=set_span_in_context(self.parent),
            start_time=agent.started_ns,
            attributes=attributes(component, status, code, deadline_hit=str(bool(agent.unfinished)).lower()),
        )
        inside = set_span_in_context(span)
        for name in names:
            found = mine.get(name, [])
            p_status, p_code = outcome(found)
            start_ns = min((_ns(f.started_at) for f in found), default=agent.started_ns)
            done_ns = start_ns + int(timings[name] * _NS) if name in timings else finished_ns
            probe = self.tracer.start_span(
                f"probe {name}", context=inside, start_time=start_ns,
                attributes=attributes(component, p_status, p_code, probe=name),
            )  # fmt: skip
            end_span(probe, p_status, p_code, max(done_ns, start_ns))
        end_span(span, status, code, finished_ns)


def child_span(tracer: Tracer, parent: Span, name: str, attrs: Mapping[str, str]) -> Span:
    """A span under ``parent`` starting now (an investigation of heal's, under the heal's span)."""
    return tracer.start_span(name, context=set_span_in_context(parent), attributes=dict(attrs))


def remediation_span(tracer: Tracer, parent: Span, fix: AppliedFix, component: str) -> None:
    """The span of one fix heal applied, ending now: ``code`` is the cause's rule; ``status`` ok when verified."""
    end_ns = time.time_ns()
    status = Status.OK if fix.verified else Status.FAIL
    attrs = attributes(component, status, fix.cause, playbook=fix.playbook, changes=str(len(fix.changes)))
    if fix.error:
        attrs["error"] = fix.error[:300]
    span = tracer.start_span(
        f"remediation {fix.playbook}",
        context=set_span_in_context(parent),
        start_time=end_ns - int(fix.seconds * _NS),
        attributes=attrs,
    )
    end_span(span, status, fix.cause, end_ns)
