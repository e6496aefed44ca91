"""``floe-agents investigate``.

Every user error (missing file, bad YAML, unknown field, unknown component in ``--only``, a ``--sink`` that names no
sink) is turned into one line
``floe-agents: error: <file>: <field>: <problem>`` and exit code 3. Unexpected internal errors also exit 3 with
one line; ``--log-level debug`` shows the traceback on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from floe_agents.cli.options import SINK_HELP, log_level_option, seconds, sinks_option

__all__ = ["investigate_command"]


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
    timeout: Annotated[float, typer.Option("--timeout", help="Global deadline in seconds.", callback=seconds)] = 20.0,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Probes running at once.", min=1)] = 32,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.", callback=log_level_option)
    ] = "warning",
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="More root-cause rules: a YAML file or a folder of them (docs/rules.md)."),
    ] = None,
    sinks: Annotated[list[str] | None, typer.Option("--sink", help=SINK_HELP, callback=sinks_option)] = None,
) -> None:
    """Probe every component concurrently, find root causes, write a report. Exit 0/1/2 = healthy/degraded/failing."""
    from floe_agents.cli._investigating import run_investigate  # noqa: PLC0415 - the engine loads only to run

    run_investigate(config, target, report, json_out, only, skip, timeout, concurrency, log_level, rules, sinks)
