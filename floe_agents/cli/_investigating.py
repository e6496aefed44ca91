"""The work of ``floe-agents investigate`` (the command module only parses: its ``--help`` loads no engine)."""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.abc
import structlog
import typer
from rich.console import Console
from rich.live import Live

from floe_agents.cli.common import build_plan
from floe_agents.cli.logs import EventLog, configure_logging, finish_telemetry, new_run_id, run_ids
from floe_agents.cli.options import fail
from floe_agents.cli.output import deliver_report, sink_context, sink_specs
from floe_agents.cli.progress import Progress
from floe_agents.cli.usage import interrupted_exit_code
from floe_agents.config import ConfigError
from floe_agents.events import Observer
from floe_agents.findings import Finding
from floe_agents.redact import Redactor
from floe_agents.report import Report, render_json, render_markdown
from floe_agents.report.model import EXIT_TOOL_ERROR
from floe_agents.runner import RUN_GRACE_S
from floe_agents.selftrace import start_telemetry, telemetry_settings
from floe_agents.sinks.base import Rendered
from floe_agents.swarm import Investigation, Plan, investigate

if TYPE_CHECKING:
    from floe_agents.selfspans import RunSpans

__all__ = ["run_investigate"]

log = structlog.get_logger("floe_agents.cli")


@dataclass
class _Interrupt:
    """The signal that interrupted the run, if one did."""

    signum: int | None = None


async def _watch_signals(
    work: anyio.CancelScope,
    interrupt: _Interrupt,
    progress: Progress,
    *,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """SIGINT/SIGTERM cancel the run (the report is then not written); a second signal ends the process at once."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for signum in signals:
            if interrupt.signum is not None:
                sys.stderr.write(f"floe-agents: interrupted by {signal.Signals(signum).name} again; stopping now\n")
                sys.stderr.flush()
                os._exit(interrupted_exit_code(signum))
            interrupt.signum = signum
            progress.interrupted = True
            log.info("interrupted", signal=signal.Signals(signum).name)
            work.cancel()


async def _run(
    plan: Plan, redactor: Redactor, progress_live: bool, interrupt: _Interrupt, traced: Observer | None
) -> Investigation | None:
    """The investigation, or None when a signal interrupted it."""
    progress = Progress(stream=sys.stderr, redactor=redactor, live=progress_live)
    observers: list[Observer] = [progress, EventLog(), *([traced] if traced is not None else [])]
    result: Investigation | None = None
    async with anyio.create_task_group() as tg:
        with anyio.CancelScope() as work:
            await tg.start(_watch_signals, work, interrupt, progress)
            log.info("investigating", vantage=plan.targets.vantage, deadline_s=plan.options.deadline_s)
            if not progress_live:
                sys.stderr.write(
                    f"floe-agents: investigating from vantage '{plan.targets.vantage}' "
                    f"(deadline {plan.options.deadline_s:g}s)\n"
                )
                sys.stderr.flush()
                result = await investigate(plan, observers=observers)
            else:
                with Live(progress, console=Console(stderr=True), refresh_per_second=8, transient=True):
                    result = await investigate(plan, observers=observers)
        tg.cancel_scope.cancel()  # the run is over (or interrupted): stop watching for signals
    return None if interrupt.signum is not None else result


def _with_failures(doc: Report, failures: Sequence[Finding]) -> Report:
    """The report once sinks failed: their findings among the unexplained ones, and exit code 3 (see output.py)."""
    update = {
        "findings": [*doc.findings, *failures],
        "other_findings": [*doc.other_findings, *failures],
        "exit_code": EXIT_TOOL_ERROR,
    }
    return doc.model_copy(update=update)


def _rendered(doc: Report, redactor: Redactor, json_out: bool) -> Rendered:
    markdown, text = render_markdown(doc, redactor), render_json(doc, redactor)
    return Rendered("report", doc.generated_at, markdown, text, json_out)


def run_investigate(
    config: Path | None,
    target: str | None,
    report: Path | None,
    json_out: bool,
    only: list[str] | None,
    skip: list[str] | None,
    timeout: float,
    concurrency: int,
    log_level: str,
    rules: list[Path] | None,
    sinks: list[str] | None = None,
) -> None:
    """Investigate, write the report to its sinks, and end with the report's exit code (``typer.Exit``)."""
    configure_logging(log_level, Redactor())
    specs = sink_specs(report, sinks)
    try:
        plan = build_plan(config, target, only, skip, timeout, concurrency, rules)
        tracing = telemetry_settings(os.environ, plan.platform)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:  # before the run (and its signal handling) started: nothing was written
        sys.stderr.write("floe-agents: interrupted by SIGINT: no report written\n")
        raise typer.Exit(interrupted_exit_code(signal.SIGINT)) from None
    redactor = plan.redactor()
    run_id = new_run_id()
    telemetry = start_telemetry(tracing, "investigate") if tracing is not None else None
    traced: RunSpans | None = None
    if telemetry is not None:
        from floe_agents.selfspans import RunSpans  # noqa: PLC0415 - OpenTelemetry loads only when traces are on

        root = telemetry.start_root("investigate", {"component": "floe-agents", "run_id": run_id,
                                                    "vantage": plan.targets.vantage})  # fmt: skip
        traced = RunSpans(telemetry.tracer, root)
    configure_logging(log_level, redactor, ids=run_ids(run_id, telemetry))
    if plan.targets.kubernetes.mode != "none":
        # The cluster client's library costs ~1 s to import (far more on a busy machine). Loaded here, before the
        # run's clock starts, no probe's timeout pays for it (the emitters probe timed out waiting for it under
        # load); `--help` and runs without a cluster never load it.
        import kubernetes_asyncio.client  # noqa: PLC0415
        import kubernetes_asyncio.config  # noqa: F401, PLC0415
    # Modules, the registry and the rules live as long as the process: keep the collector from walking them
    # again during the run (a full collection costs ~80 ms, a third of an investigation's CPU on the lab).
    gc.freeze()
    interrupt = _Interrupt()
    ends_by = time.monotonic() + plan.options.deadline_s + RUN_GRACE_S  # traces are sent by then, or not at all
    try:
        result = anyio.run(_run, plan, redactor, sys.stderr.isatty(), interrupt, traced)
    except Exception as exc:  # the tool itself broke: one line, traceback only in debug logs
        log.debug("investigation crashed", exc_info=True)
        finish_telemetry(telemetry, ends_by - time.monotonic())
        raise fail(f"internal error: {type(exc).__name__}: {redactor(str(exc))}") from None
    if traced is not None:
        traced.close()
    if result is None or interrupt.signum is not None:
        signum = interrupt.signum or signal.SIGINT
        finish_telemetry(telemetry, ends_by - time.monotonic())
        where = f"; {report} left as it was" if report is not None else ""
        sys.stderr.write(f"floe-agents: interrupted by {signal.Signals(signum).name}: no report written{where}\n")
        raise typer.Exit(interrupted_exit_code(signum))
    doc = result.report
    log.info("investigated", overall=doc.overall.value, exit_code=doc.exit_code, wall_s=round(result.wall_s, 3))
    ctx = sink_context(plan)
    code = deliver_report(
        specs,
        _rendered(doc, redactor, json_out),
        lambda failures: _rendered(_with_failures(doc, failures), redactor, json_out),
        ctx,
        redactor,
        f"{doc.overall.value}: {len(doc.root_causes)} root cause(s)",
    )
    exit_code = code if code is not None else doc.exit_code
    if telemetry is not None and telemetry.root is not None:
        telemetry.root.set_attributes({"status": doc.overall.value, "code": "sink.failed" if code else "",
                                       "exit_code": exit_code})  # fmt: skip
    finish_telemetry(telemetry, ends_by - time.monotonic())
    raise typer.Exit(exit_code)
