"""``floe-agents heal``: investigate, plan the fixes, and (unless ``--dry-run``) apply them, prove them, record them.

Safety first, in this order: ``--dry-run`` sends no mutating request anywhere (planning only reads); a real heal
asks on a terminal, and without a terminal refuses unless ``--yes``; it holds a Lease so two heals never run at
once; playbooks marked ``confirm: true`` are never applied by ``--yes`` alone. Exit codes: 0 healed (or nothing to
heal), 1 plan shown / manual steps remain / not confirmed, 2 a step or its verification failed, 3 the tool could
not run or a report sink failed, 4 another heal holds the lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from floe_agents.cli.options import SINK_HELP, log_level_option, seconds, sinks_option

__all__ = ["heal_command"]


def heal_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; send no mutating request anywhere.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Apply without asking (playbooks marked confirm excepted).")
    ] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Floe platform.yaml to heal towards.")] = None,
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="Targets file, or 'lab' for the running lab.")
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", "-o", help="Write the heal report here.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Write the heal report as JSON.")] = False,
    playbooks: Annotated[
        list[Path] | None, typer.Option("--playbooks", help="More playbook folders (later ones override).")
    ] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="More root-cause rules (docs/rules.md).")] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Deadline of each investigation, in seconds.", callback=seconds)
    ] = 20.0,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.", callback=log_level_option)
    ] = "warning",
    sinks: Annotated[list[str] | None, typer.Option("--sink", help=SINK_HELP, callback=sinks_option)] = None,
) -> None:
    """Plan fixes for the root causes found and apply them safely (--dry-run: plan only). Exit 0 healed."""
    from floe_agents.cli._healing import run_heal  # noqa: PLC0415 - the engine loads only to run

    run_heal(dry_run, yes, config, target, report, json_out, playbooks, rules, timeout, log_level, sinks)
