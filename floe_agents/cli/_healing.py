"""The work of ``floe-agents heal`` (the command module only parses: its ``--help`` loads no engine)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import structlog
import typer

from floe_agents.cli.common import build_plan
from floe_agents.cli.logs import EventLog, configure_logging, finish_telemetry, new_run_id, run_ids
from floe_agents.cli.options import fail
from floe_agents.cli.output import deliver_report, sink_context, sink_specs
from floe_agents.cli.usage import interrupted_exit_code
from floe_agents.config import ConfigError
from floe_agents.findings import Finding
from floe_agents.heal.engine import Healer
from floe_agents.heal.lock import LockHeldError, heal_lock
from floe_agents.heal.model import EXIT_LOCKED, EXIT_TOOL_ERROR, AppliedFix, FixPlan, HealReport
from floe_agents.heal.render import render_heal_json, render_heal_markdown, render_plan
from floe_agents.heal_context import HealContext
from floe_agents.kube import KubeUnavailableError, open_kube
from floe_agents.playbooks import load_playbooks, search_path
from floe_agents.redact import Redactor
from floe_agents.remediation import RemediationRegistry
from floe_agents.selftrace import EXPORT_TIMEOUT_S, start_telemetry, telemetry_settings
from floe_agents.sinks.base import Rendered
from floe_agents.swarm import Investigation, Plan, investigate
from floe_agents.transport import USER_AGENT, run_client

if TYPE_CHECKING:
    from floe_agents.selftrace import Telemetry

__all__ = ["run_heal"]

log = structlog.get_logger("floe_agents.cli")


def _say(message: str) -> None:
    sys.stderr.write(f"floe-agents: {message}\n")
    sys.stderr.flush()


async def _ask(plans: list[FixPlan]) -> bool:
    sys.stderr.write("\n" + render_plan(plans) + "\n")
    answer: bool = await anyio.to_thread.run_sync(
        lambda: typer.confirm(f"Apply {len(plans)} fix(es) to the platform?", default=False, err=True)
    )
    return answer


async def _yes(plans: list[FixPlan]) -> bool:
    _say(f"--yes: applying {len(plans)} fix(es)")
    return True


async def _heal(
    plan: Plan,
    redactor: Redactor,
    playbooks_dirs: list[Path],
    *,
    dry_run: bool,
    assume_yes: bool,
    interactive: bool,
    telemetry: Telemetry | None,
) -> HealReport:
    books = load_playbooks(search_path(playbooks_dirs))
    registry = RemediationRegistry.from_entry_points()
    for error in registry.load_errors:
        _say(f"warning: remediation {error.entry_point} not loaded: {error.reason}")
    targets = plan.targets
    rounds = 0

    async def diagnose() -> Investigation:
        nonlocal rounds
        rounds += 1
        _say(f"investigating ({'before' if rounds == 1 else f'check {rounds - 1}'})")
        if telemetry is None or telemetry.root is None:
            return await investigate(plan, observers=[EventLog()])
        from floe_agents.selfspans import RunSpans, child_span  # noqa: PLC0415 - only when traces are on

        span = child_span(telemetry.tracer, telemetry.root, "investigation", {"component": "floe-agents"})
        spans = RunSpans(telemetry.tracer, span)
        try:
            inv = await investigate(plan, observers=[EventLog(), spans])
            span.set_attributes({"status": inv.report.overall.value, "code": "", "round": rounds})
            return inv
        finally:
            spans.close()
            span.end()

    components: dict[str, str] = {}  # cause -> component, from the plans confirmed: a fix's span names both

    async def confirm(plans: list[FixPlan]) -> bool:
        components.update({p.cause: p.component for p in plans})
        return await (_yes if assume_yes else _ask)(plans)

    def applied(fix: AppliedFix) -> None:
        if telemetry is not None and telemetry.root is not None:
            from floe_agents.selfspans import remediation_span  # noqa: PLC0415

            remediation_span(telemetry.tracer, telemetry.root, fix, components.get(fix.cause, ""))

    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(run_client(follow_redirects=True, headers={"User-Agent": USER_AGENT}))
        api, kube_error = None, None
        try:
            api = await stack.enter_async_context(open_kube(targets.kubernetes))
        except KubeUnavailableError as exc:
            kube_error = str(exc)
        ctx = HealContext(
            targets=targets,
            http=http,
            redactor=redactor,
            declarations=plan.registry.declarations(),
            platform=plan.platform,
            kube=api,
            kube_error=kube_error,
        )
        healer = Healer(
            investigate=diagnose,
            playbooks=books,
            registry=registry,
            ctx=ctx,
            confirm=confirm,
            interactive=interactive and not assume_yes,
            say=_say,
            applied=applied,
        )
        if dry_run:
            return await healer.run(dry_run=True)
        if api is None:
            _say("warning: no Kubernetes API configured: heal runs without its Lease (one heal at a time is on you)")
            return await healer.run(dry_run=False)
        async with heal_lock(api, targets.namespace):
            return await healer.run(dry_run=False)


def _with_failures(result: HealReport, failures: Sequence[Finding]) -> HealReport:
    """The heal report once sinks failed: their findings in it, and exit code 3 (see floe_agents/cli/output.py)."""
    return result.model_copy(update={"findings": (*result.findings, *failures), "exit_code": EXIT_TOOL_ERROR})


def _rendered(result: HealReport, redactor: Redactor, json_out: bool) -> Rendered:
    markdown, text = render_heal_markdown(result, redactor), render_heal_json(result, redactor)
    return Rendered("heal", result.generated_at, markdown, text, json_out)


def run_heal(
    dry_run: bool,
    yes: bool,
    config: Path | None,
    target: str | None,
    report: Path | None,
    json_out: bool,
    playbooks: list[Path] | None,
    rules: list[Path] | None,
    timeout: float,
    log_level: str,
    sinks: list[str] | None = None,
) -> None:
    """Heal (or plan), write the heal report to its sinks, and end with its exit code (``typer.Exit``)."""
    configure_logging(log_level, Redactor())
    specs = sink_specs(report, sinks)
    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    if not dry_run and not yes and not interactive:
        raise fail(
            "heal changes the platform: run it on a terminal to confirm, or pass --yes (--dry-run shows the plan)"
        )
    try:
        plan = build_plan(config, target, None, None, timeout, 32, rules)
        load_playbooks(search_path(playbooks or []))  # a broken playbook is a usage error before anything runs
        tracing = telemetry_settings(os.environ, plan.platform)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    redactor = plan.redactor()
    run_id = new_run_id()
    telemetry = start_telemetry(tracing, "heal") if tracing is not None else None
    if telemetry is not None:
        mode = "dry-run" if dry_run else "apply"
        telemetry.start_root("heal", {"component": "floe-agents", "run_id": run_id, "mode": mode})
    configure_logging(log_level, redactor, ids=run_ids(run_id, telemetry))
    if plan.targets.kubernetes.mode != "none":
        import kubernetes_asyncio.client  # noqa: F401, PLC0415 - before the clock starts (see investigate)
    try:
        result = anyio.run(
            lambda: _heal(
                plan,
                redactor,
                playbooks or [],
                dry_run=dry_run,
                assume_yes=yes,
                interactive=interactive,
                telemetry=telemetry,
            )
        )
    except LockHeldError as exc:
        _say(f"not run: {exc}")
        finish_telemetry(telemetry, EXPORT_TIMEOUT_S)
        raise typer.Exit(EXIT_LOCKED) from None
    except KeyboardInterrupt:
        _say("interrupted by SIGINT: no heal report written; `floe-agents heal --dry-run` shows where things stand")
        raise typer.Exit(interrupted_exit_code(signal.SIGINT)) from None
    except Exception as exc:  # the tool itself broke: one line, traceback only in debug logs
        log.debug("heal crashed", exc_info=True)
        finish_telemetry(telemetry, EXPORT_TIMEOUT_S)
        raise fail(f"internal error: {type(exc).__name__}: {redactor(str(exc))}") from None
    ctx = sink_context(plan)
    code = deliver_report(
        specs,
        _rendered(result, redactor, json_out),
        lambda failures: _rendered(_with_failures(result, failures), redactor, json_out),
        ctx,
        redactor,
        result.outcome,
    )
    exit_code = code if code is not None else result.exit_code
    if telemetry is not None and telemetry.root is not None:
        telemetry.root.set_attributes({"status": result.outcome, "code": "sink.failed" if code else "",
                                       "exit_code": exit_code})  # fmt: skip
    finish_telemetry(telemetry, EXPORT_TIMEOUT_S)
    raise typer.Exit(exit_code)
