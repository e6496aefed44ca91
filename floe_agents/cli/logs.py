"""Logging setup for the CLI: structlog to stderr, JSON when stderr is not a terminal.

Logs are for operators and log shippers; they never go to stdout, where a report may be written. Every line of a
run carries its ``run_id`` and, when floe-agents sends its own traces (:mod:`floe_agents.selftrace`), the
``trace_id`` of the run's trace, so a log line leads to the trace in Jaeger and back. The engine
tells what a run does as typed events (:mod:`floe_agents.events`), not as log lines: :class:`EventLog` is the
observer that turns them into logs (every event at ``debug``; the run's start and end at ``info``), so
``--log-level debug`` shows the run as it happens.
"""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import structlog

from floe_agents.events import (
    AgentDeadlineHit,
    AgentFinished,
    AgentStarted,
    FindingPosted,
    FollowUpLaunched,
    RunEvent,
    RunStarted,
)
from floe_agents.redact import Redactor

if TYPE_CHECKING:
    from floe_agents.selftrace import Telemetry

__all__ = ["LEVELS", "EventLog", "configure_logging", "finish_telemetry", "new_run_id", "run_ids"]

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def new_run_id() -> str:
    """A run's id: 16 random hex digits (logs, spans and the process's lines share it)."""
    return secrets.token_hex(8)


def run_ids(run_id: str, telemetry: Telemetry | None) -> dict[str, str]:
    """What every log line of the run carries: its id, and its trace's id when traces are sent."""
    return {"run_id": run_id, "trace_id": telemetry.trace_id} if telemetry is not None else {"run_id": run_id}


def finish_telemetry(telemetry: Telemetry | None, budget_s: float) -> None:
    """Send the run's spans within ``budget_s``; a failure is one warning line on stderr, never a traceback."""
    if telemetry is None:
        return
    warning = telemetry.finish(budget_s)
    if warning is not None:
        structlog.get_logger("floe_agents.cli").info("traces not sent", reason=warning)
        sys.stderr.write(f"floe-agents: warning: {warning}\n")
        sys.stderr.flush()


def configure_logging(
    level: str, redactor: Redactor, *, json_logs: bool | None = None, ids: Mapping[str, str] | None = None
) -> None:
    """structlog to stderr at ``level``, every string scrubbed by ``redactor``, ``ids`` added to every line."""
    if json_logs is None:
        json_logs = not sys.stderr.isatty()
    fixed = dict(ids or {})

    def scrub(_: Any, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
        return {**fixed, **{k: redactor(v) if isinstance(v, str) else v for k, v in event.items()}}

    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,  # a traceback as text, so it is scrubbed and fits a JSON line
            scrub,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS.get(level, logging.WARNING)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


class EventLog:
    """Observer of one run that logs its events: pass it to ``investigate(plan, observers=[...])``."""

    def __init__(self, name: str = "floe_agents.run") -> None:
        self.log = structlog.get_logger(name)

    def __call__(self, event: RunEvent) -> None:
        match event:
            case RunStarted(agents=agents):
                self.log.info("run started", agents=list(agents))
            case AgentStarted(component=component):
                self.log.debug("agent started", component=component)
            case AgentDeadlineHit(component=component, unfinished=unfinished):
                self.log.debug("agent cut off", component=component, unfinished=list(unfinished))
            case AgentFinished(component=component, duration_s=duration_s, probes=probes, deadline_hit=cut):
                self.log.debug(
                    "agent finished",
                    component=component,
                    duration_s=round(duration_s, 3),
                    probes={name: round(s, 3) for name, s in probes.items()},
                    cut_off=cut,
                )
            case FollowUpLaunched(probe=probe, trigger=trigger, code=code):
                self.log.debug("follow-up launched", probe=probe, trigger=trigger, code=code)
            case FindingPosted(finding=f):
                self.log.debug(
                    "finding",
                    component=f.component,
                    check=f.check,
                    status=f.status.value,
                    code=str(f.code),
                    summary=f.summary,
                    subject=f.subject,
                )
            case _:
                pass
