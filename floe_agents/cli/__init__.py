"""The ``floe-agents`` command line.

The CLI only parses, wires and prints: it builds a :class:`~floe_agents.swarm.Plan`, runs the investigation, and
writes the report. Reports go to ``--report`` (or stdout), progress and logs go to stderr, so a report is never
mixed with logs. Exit codes are a contract for CI: 0 healthy, 1 warnings/unknown only, 2 failures, 3 the tool
itself could not run (bad config, unreadable file) — always with one clear line, never a traceback.
"""

from __future__ import annotations

import json
import sys

import typer

from floe_agents.cli.investigate import investigate_command
from floe_agents.cli.plugins import add_commands
from floe_agents.cli.probes import probes_command
from floe_agents.report.model import report_json_schema

__all__ = ["app", "main"]

app = typer.Typer(
    name="floe-agents",
    help="Diagnose a Floe data platform: concurrent probe agents, root causes, a report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("investigate")(investigate_command)
app.command("probes")(probes_command)
add_commands(app)  # the lab's `lab` and `demo`, and any plugin's commands


@app.command("schema")
def schema_command() -> None:
    """Print the JSON schema of the `--json` report (docs/report.schema.json)."""
    sys.stdout.write(json.dumps(report_json_schema(), indent=2, sort_keys=True) + "\n")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
