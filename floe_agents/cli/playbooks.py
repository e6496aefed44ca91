"""``floe-agents playbooks``: the playbooks heal would use, checked before anything runs.

Each playbook on the search path (built-in, ``FLOE_AGENTS_PLAYBOOK_PATH``, ``--playbooks``) is loaded with the safe
YAML loader and validated; then what a run would trip over later is checked now: every root cause it claims to fix
is a known rule, and every step names an installed remediation. A problem is one line naming the file and what is
wrong, and exit 3; a clean set is listed (name, fixes, phase, risk, confirm, steps) and exits 0.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["playbooks_command"]


def playbooks_command(
    playbooks: Annotated[
        list[Path] | None, typer.Option("--playbooks", help="More playbook folders (later ones override).")
    ] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="More root-cause rules (docs/rules.md).")] = None,
) -> None:
    """List and validate the playbooks heal uses (built-in, FLOE_AGENTS_PLAYBOOK_PATH, --playbooks)."""
    from floe_agents.cli.options import fail  # noqa: PLC0415 - only when the command runs
    from floe_agents.config import ConfigError  # noqa: PLC0415
    from floe_agents.playbooks import load_playbooks, search_path  # noqa: PLC0415
    from floe_agents.registry import Registry  # noqa: PLC0415
    from floe_agents.remediation import RemediationRegistry  # noqa: PLC0415
    from floe_agents.rules import rules_for  # noqa: PLC0415

    path = search_path(playbooks or [])
    try:
        books = load_playbooks(path)
        known_rules = {rule.id for rule in rules_for(Registry.from_entry_points(), rules or []).rules}
    except ConfigError as exc:
        raise fail(str(exc)) from None
    remediations = RemediationRegistry.from_entry_points()
    problems: list[str] = []
    for book in books.values():
        for rule in book.fixes:
            if rule not in known_rules:
                problems.append(f"playbook {book.name}: fixes: unknown root-cause rule {rule!r}")
        for index, step in enumerate(book.steps, 1):
            if remediations.get(step.remediation) is None:
                problems.append(
                    f"playbook {book.name}: steps[{index}]: remediation {step.remediation!r} is not installed"
                )
    for error in remediations.load_errors:
        problems.append(f"remediation {error.entry_point}: {error.reason}")
    if problems:
        for problem in problems:
            sys.stderr.write(f"floe-agents: error: {problem}\n")
        raise typer.Exit(3)
    table = Table(title=f"floe-agents playbooks ({', '.join(str(p) for p in path if p.is_dir())})")
    for column in ("playbook", "fixes", "phase", "risk", "confirm", "steps", "verify"):
        table.add_column(column)
    for book in sorted(books.values(), key=lambda b: b.name):
        table.add_row(
            book.name,
            ", ".join(book.fixes),
            book.phase,
            book.risk,
            "yes" if book.confirm else "no",
            "\n".join(step.remediation for step in book.steps),
            ", ".join(book.verify) or "—",
        )
    Console(width=None if sys.stdout.isatty() else 200).print(table)
