"""``floe-agents investigate``.

Every user error (missing file, bad YAML, unknown field, unknown component in ``--only``) is turned into one line
``floe-agents: error: <file>: <field>: <problem>`` and exit code 3. Unexpected internal errors also exit 3 with
one line; ``--log-level debug`` shows the traceback on stderr.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Annotated

import anyio
import structlog
import typer
from rich.console import Console
from rich.live import Live

from floe_agents.cli.logs import configure_logging
from floe_agents.cli.plugins import named_target
from floe_agents.cli.progress import Progress
from floe_agents.config import ConfigError, PlatformConfig, load_targets, load_yaml_model
from floe_agents.redact import Redactor
from floe_agents.registry import Registry
from floe_agents.report import render_json, render_markdown
from floe_agents.report.model import EXIT_TOOL_ERROR
from floe_agents.rules import rules_for
from floe_agents.runner import RunOptions
from floe_agents.swarm import Investigation, Plan, investigate

__all__ = ["investigate_command"]

log = structlog.get_logger("floe_agents.cli")


def _fail(message: str) -> typer.Exit:
    sys.stderr.write(f"floe-agents: error: {message}\n")
    return typer.Exit(EXIT_TOOL_ERROR)


def _target_path(target: str | None) -> Path | None:
    """``--target``: a file, or a name a plugin answers for (``lab``: the running lab's targets file)."""
    if target is None:
        return None
    path = Path(target)
    if path.exists() or "/" in target or "." in target:
        return path
    return named_target(target) or path


def _names(values: list[str] | None) -> frozenset[str]:
    return frozenset(n.strip() for v in values or () for n in v.split(",") if n.strip())


def _build_plan(
    config: Path | None,
    target: str | None,
    only: list[str] | None,
    skip: list[str] | None,
    timeout: float,
    concurrency: int,
    rules: list[Path] | None = None,
) -> Plan:
    target_path = _target_path(target)
    targets = load_targets(target_path)
    if config is None and targets.platform and target_path is not None:
        config = target_path.parent / targets.platform
    platform = load_yaml_model(PlatformConfig, config) if config else None
    only_set, skip_set = _names(only), _names(skip)
    unknown = sorted((only_set | skip_set) - set(targets.components))
    if unknown:
        known = ", ".join(sorted(targets.components))
        raise ConfigError("--only/--skip", f"unknown component(s) {', '.join(unknown)} (known: {known})")
    if timeout <= 0:
        raise ConfigError("--timeout", "must be a positive number of seconds")
    return Plan(
        targets=targets,
        registry=Registry.from_entry_points(),
        platform=platform,
        only=only_set,
        skip=skip_set,
        options=RunOptions(deadline_s=timeout, concurrency=concurrency),
        rules=rules_for(Registry.from_entry_points(), rules or []),
    )


async def _run(plan: Plan, redactor: Redactor, progress_live: bool) -> Investigation:
    progress = Progress(stream=sys.stderr, redactor=redactor, live=progress_live)
    if not progress_live:
        sys.stderr.write(
            f"floe-agents: investigating from vantage '{plan.targets.vantage}' "
            f"(deadline {plan.options.deadline_s:g}s)\n"
        )
        return await investigate(plan, observers=[progress])
    with Live(progress, console=Console(stderr=True), refresh_per_second=8, transient=True):
        return await investigate(plan, observers=[progress])


def investigate_command(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Floe platform.yaml to check against.")] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            "-t",
            help="Targets file, or 'lab' for the running lab. Default: built-in upstream chart names and NodePorts.",
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", "-o", help="Write the report here (default stdout).")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Write the report as JSON (docs/report.schema.json).")
    ] = False,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Only these components (repeat or comma-separate).")
    ] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip", help="Skip these components.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Global deadline in seconds.")] = 20.0,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Probes running at once.", min=1)] = 32,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "warning",
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="More root-cause rules: a YAML file or a folder of them (docs/rules.md)."),
    ] = None,
) -> None:
    """Probe every component concurrently, find root causes, write a report. Exit 0/1/2 = healthy/degraded/failing."""
    configure_logging(log_level, Redactor())
    try:
        plan = _build_plan(config, target, only, skip, timeout, concurrency, rules)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    redactor = plan.redactor()
    configure_logging(log_level, redactor)
    # Modules, the registry and the rules live as long as the process: keep the collector from walking them
    # again during the run (a full collection costs ~80 ms, a third of an investigation's CPU on the lab).
    gc.freeze()
    try:
        result = anyio.run(_run, plan, redactor, sys.stderr.isatty())
    except Exception as exc:  # the tool itself broke: one line, traceback only in debug logs
        log.debug("investigation crashed", exc_info=True)
        raise _fail(f"internal error: {type(exc).__name__}: {redactor(str(exc))}") from None
    doc = result.report
    text = render_json(doc, redactor) if json_out else render_markdown(doc, redactor)
    if report is None:
        sys.stdout.write(text)
    else:
        try:
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _fail(f"{report}: cannot write report ({exc.strerror or exc})") from None
        sys.stderr.write(
            f"floe-agents: {doc.overall.value}: {len(doc.root_causes)} root cause(s); report written to {report}\n"
        )
    raise typer.Exit(doc.exit_code)
