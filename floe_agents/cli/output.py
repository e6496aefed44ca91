"""Where the commands' reports go: the sinks ``--sink`` and ``-o/--report`` name, written by
:mod:`floe_agents.sinks`, with one line on stderr per sink.

Why the exit code lives here: a sink that fails is the tool not doing its whole job, so the command ends with 3
(as a report it could not write always did), after every other sink got the report with a ``sink.failed`` finding
in it; the report's own ``exit_code`` says 3 as well, so a report and its process never disagree.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from floe_agents.redact import Redactor
from floe_agents.sinks.base import Rendered, SinkContext
from floe_agents.sinks.deliver import Amend, deliver
from floe_agents.sinks.spec import SinkSpec, parse_sink
from floe_agents.swarm import Plan

__all__ = ["EXIT_SINK_FAILED", "deliver_report", "sink_context", "sink_specs"]

EXIT_SINK_FAILED = 3


def sink_specs(report: Path | None, sinks: Sequence[str] | None) -> list[SinkSpec]:
    """``-o PATH`` is the first file sink; without any sink the report goes to stdout. A sink named twice is one."""
    specs = [SinkSpec("file", str(report))] if report is not None else []
    for value in sinks or ():
        spec = parse_sink(value)  # checked while parsing (floe_agents.cli.options.sinks_option)
        if spec not in specs:
            specs.append(spec)
    return specs or [SinkSpec("stdout")]


def sink_context(plan: Plan) -> SinkContext:
    """What the sinks get from the run: its targets, platform.yaml, and credentials read as the probes read them
    (the targets file, else the environment variable the probes declare)."""
    declarations, written = plan.registry.declarations(), plan.targets.credentials.written()
    return SinkContext(plan.targets, plan.platform, lambda name: declarations.credential(name, written))


def deliver_report(
    specs: Sequence[SinkSpec], first: Rendered, amend: Amend, ctx: SinkContext, redactor: Redactor, headline: str
) -> int | None:
    """Write the report to every sink; one line each on stderr. Returns EXIT_SINK_FAILED when a sink failed."""
    delivery = anyio.run(deliver, specs, first, amend, ctx, redactor)
    for where in delivery.written:
        if where != "stdout":
            sys.stderr.write(f"floe-agents: {headline}; report written to {where}\n")
    for failure in delivery.failures:
        kept = "; the old report is unchanged" if failure.evidence.get("sink") == "file" else ""
        reason = failure.evidence["reason"]
        sys.stderr.write(f"floe-agents: error: {failure.subject}: cannot write report ({reason}){kept}\n")
    sys.stderr.flush()
    return EXIT_SINK_FAILED if delivery.failures else None
