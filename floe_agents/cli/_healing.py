"""The work of ``floe-agents heal`` (the command module only parses: its ``--help`` loads no engine)."""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path

import anyio
import anyio.to_thread
import structlog
import typer

from floe_agents.cli.common import build_plan
from floe_agents.cli.logs import EventLog, configure_logging
from floe_agents.cli.options import fail
from floe_agents.cli.output import deliver
from floe_agents.cli.usage import interrupted_exit_code
from floe_agents.config import ConfigError
from floe_agents.heal.engine import Healer
from floe_agents.heal.lock import LockHeldError, heal_lock
from floe_agents.heal.model import EXIT_LOCKED, FixPlan, HealReport
from floe_agents.heal.render import render_heal_json, render_heal_markdown, render_plan
from floe_agents.heal_context import HealContext
from floe_agents.kube import KubeUnavailableError, open_kube
from floe_agents.playbooks import load_playbooks, search_path
from floe_agents.redact import Redactor
from floe_agents.remediation import RemediationRegistry
from floe_agents.swarm import Investigation, Plan, investigate
from floe_agents.transport import USER_AGENT, run_client

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
        return await investigate(plan, observers=[EventLog()])

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
            confirm=_yes if assume_yes else _ask,
            interactive=interactive and not assume_yes,
            say=_say,
        )
        if dry_run:
            return await healer.run(dry_run=True)
        if api is None:
            _say("warning: no Kubernetes API configured: heal runs without its Lease (one heal at a time is on you)")
            return await healer.run(dry_run=False)
        async with heal_lock(api, targets.namespace):
            return await healer.run(dry_run=False)


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
) -> None:
    """Heal (or plan), write the heal report, and end with its exit code (``typer.Exit``)."""
    configure_logging(log_level, Redactor())
    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    if not dry_run and not yes and not interactive:
        raise fail(
            "heal changes the platform: run it on a terminal to confirm, or pass --yes (--dry-run shows the plan)"
        )
    try:
        plan = build_plan(config, target, None, None, timeout, 32, rules)
        load_playbooks(search_path(playbooks or []))  # a broken playbook is a usage error before anything runs
    except ConfigError as exc:
        raise fail(str(exc)) from None
    redactor = plan.redactor()
    configure_logging(log_level, redactor)
    if plan.targets.kubernetes.mode != "none":
        import kubernetes_asyncio.client  # noqa: F401, PLC0415 - before the clock starts (see investigate)
    try:
        result = anyio.run(
            lambda: _heal(plan, redactor, playbooks or [], dry_run=dry_run, assume_yes=yes, interactive=interactive)
        )
    except LockHeldError as exc:
        _say(f"not run: {exc}")
        raise typer.Exit(EXIT_LOCKED) from None
    except KeyboardInterrupt:
        _say("interrupted by SIGINT: no heal report written; `floe-agents heal --dry-run` shows where things stand")
        raise typer.Exit(interrupted_exit_code(signal.SIGINT)) from None
    except Exception as exc:  # the tool itself broke: one line, traceback only in debug logs
        log.debug("heal crashed", exc_info=True)
        raise fail(f"internal error: {type(exc).__name__}: {redactor(str(exc))}") from None
    text = render_heal_json(result, redactor) if json_out else render_heal_markdown(result, redactor)
    deliver(text, report, result.outcome)
    raise typer.Exit(result.exit_code)
