"""The ``floe-agents`` command line.

The CLI only parses, wires and prints: it builds a :class:`~floe_agents.swarm.Plan`, runs the investigation, and
writes the report. Reports go to ``--report`` (or stdout), progress and logs go to stderr, so a report is never
mixed with logs. Exit codes are a contract for CI: 0 healthy, 1 warnings/unknown only, 2 failures, 3 the tool
itself could not run (bad config, unreadable file) — always with one clear line, never a traceback.

Starting is cheap: CI and CronJobs run the tool many times a day. The built-in commands are listed by name and
one line of help (:data:`LAZY_COMMANDS`) and their modules are imported only when that command runs or shows its
own help, so ``floe-agents --help`` loads typer and the plugin seam, not the engine, pydantic or any client
library (guarded by tests/cli/test_startup.py).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperGroup

from floe_agents.cli.plugins import add_commands

__all__ = ["LAZY_COMMANDS", "app", "main"]

# name -> ("module:function", the one-line help `floe-agents --help` shows). The line must be the first line of
# the function's docstring (tests/cli/test_startup.py checks it), so both helps read the same.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "investigate": (
        "floe_agents.cli.investigate:investigate_command",
        "Probe every component concurrently, find root causes, write a report. Exit 0/1/2 = healthy/degraded/failing.",
    ),
    "heal": (
        "floe_agents.cli.heal:heal_command",
        "Plan fixes for the root causes found and apply them safely (--dry-run: plan only). Exit 0 healed.",
    ),
    "playbooks": (
        "floe_agents.cli.playbooks:playbooks_command",
        "List and validate the playbooks heal uses (built-in, FLOE_AGENTS_PLAYBOOK_PATH, --playbooks).",
    ),
    "probes": (
        "floe_agents.cli.probes:probes_command",
        "List the registered probes and follow-ups, their finding codes and credentials (floe_agents.probes).",
    ),
}


def load_command(name: str) -> typer.core.TyperCommand:
    """The real click command of the built-in ``name``: its module is imported here, not at start."""
    module_name, _, attr = LAZY_COMMANDS[name][0].partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    single.command(name)(function)
    command = typer.main.get_command(single)
    assert isinstance(command, typer.core.TyperCommand)
    return command


class _LazyCommand(typer.core.TyperCommand):
    """Stands in for a built-in command in the group: its name and short help are known without an import; the
    first time it parses arguments (running, or ``--help``) it becomes the real command."""

    def __init__(self, name: str, short_help: str) -> None:
        super().__init__(name=name, short_help=short_help, help=short_help)
        self._real: typer.core.TyperCommand | None = None

    def real(self) -> typer.core.TyperCommand:
        if self._real is None:
            self._real = load_command(str(self.name))
        return self._real

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Any = None,
        **extra: Any,
    ) -> Any:
        return self.real().make_context(info_name, args, parent=parent, **extra)

    def get_params(self, ctx: Any) -> list[Any]:
        return self.real().get_params(ctx)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        return self.real().shell_complete(ctx, incomplete)


class _Group(TyperGroup):
    """The top-level group: the built-in commands first, lazily, then whatever typer and plugins registered."""

    def __init__(self, *, commands: Any = None, **attrs: Any) -> None:
        lazy: dict[str, Any] = {name: _LazyCommand(name, line) for name, (_, line) in LAZY_COMMANDS.items()}
        given = commands.items() if isinstance(commands, dict) else ((c.name, c) for c in commands or ())
        lazy.update(given)
        super().__init__(commands=lazy, **attrs)


app = typer.Typer(
    name="floe-agents",
    help="Diagnose and heal a Floe data platform: concurrent probe agents, root causes, playbooks, a report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: typer's rich help imports rich.markdown and markdown-it, most of a `--help`.
    rich_markup_mode=None,
    cls=_Group,
)


@app.command("schema")
def schema_command() -> None:
    """Print the JSON schema of the `--json` report (docs/report.schema.json)."""
    import json  # noqa: PLC0415 - only this command needs it

    from floe_agents.report.model import report_json_schema  # noqa: PLC0415 - pydantic, only for this command

    sys.stdout.write(json.dumps(report_json_schema(), indent=2, sort_keys=True) + "\n")


@app.callback()
def _root() -> None:
    # A callback keeps the app a group even when no plugin adds a command (the built-ins are not registered).
    pass


add_commands(app)  # the lab's `lab` and `demo`, and any plugin's commands


def main() -> None:
    from floe_agents.cli.usage import run  # noqa: PLC0415 - usage errors as one line and exit 3 (finding 4)

    sys.exit(run(app))
