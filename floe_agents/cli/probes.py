"""``floe-agents probes``: what the installed probes can do, as they declare it.

One table of the probes and follow-ups (what they serve, timeouts, ordering and triggers), then each probe's
finding codes with their meanings and the credentials it logs in with: the vocabulary a rule may name and what a
targets file's ``credentials:`` may hold. Read from the ``floe_agents.probes`` entry points, so a plugin's probe
is listed the way ours are. Without a terminal the output is 200 columns wide, so it reads the same in a log.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the registry loads the engine's models: `probes --help` does not need them
    from floe_agents.registry import ProbeSpec

__all__ = ["probes_command"]


def _probes_table(specs: list[ProbeSpec]) -> Table:
    table = Table(title="floe-agents probes")
    for column in ("probe", "kind", "components", "timeout", "retries", "after / triggered by", "description"):
        table.add_column(column)
    for spec in specs:
        comps = "every component with endpoints" if spec.components is None else ", ".join(sorted(spec.components))
        if spec.kind == "follow_up":
            comps = "—"
        relation = ", ".join(spec.after) if spec.kind == "probe" else ", ".join(sorted(spec.on_codes))
        table.add_row(
            spec.name,
            spec.kind,
            comps,
            f"{spec.timeout_s:g}s",
            str(spec.retry.attempts - 1),
            relation or "—",
            spec.description,
        )
    return table


def _codes_table(specs: list[ProbeSpec]) -> Table:
    table = Table(title="finding codes (rules may name these, or globs of them)")
    for column in ("probe", "code", "meaning"):
        table.add_column(column)
    for spec in specs:
        for i, (code, meaning) in enumerate(sorted(spec.codes.items())):
            table.add_row(spec.name if i == 0 else "", code, meaning)
    from floe_agents.declarations import ENGINE_CODES  # noqa: PLC0415

    shared = ", ".join(sorted({code.split(".", 1)[0] + ".*" for code in ENGINE_CODES}))
    table.caption = f"every probe may also emit the engine's codes ({shared})"
    return table


def _credentials_table(specs: list[ProbeSpec]) -> Table:
    table = Table(title="credentials (targets file `credentials:`, else the env var, else the default)")
    for column in ("probe", "credential", "env", "default", "secret", "description"):
        table.add_column(column)
    for spec in specs:
        for i, cred in enumerate(spec.credentials):
            table.add_row(
                spec.name if i == 0 else "",
                cred.name,
                cred.env or "—",
                cred.default or "—",
                "yes" if cred.secret else "no",
                cred.description,
            )
    return table


def probes_command() -> None:
    """List the registered probes and follow-ups, their finding codes and credentials (floe_agents.probes)."""
    from floe_agents.registry import Registry  # noqa: PLC0415 - only when the command runs

    registry = Registry.from_entry_points()
    specs = sorted(registry.specs.values(), key=lambda s: (s.kind, s.name))
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(_probes_table(specs))
    console.print(_codes_table(specs))
    console.print(_credentials_table([s for s in specs if s.credentials]))
    for err in registry.load_errors:
        console.print(f"[red]load error[/] {err.entry_point}: {err.reason}")
