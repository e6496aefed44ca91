"""The one seam through which other packages add to the command line: entry points, never imports.

``floe_agents`` knows nothing of the packages that extend its command line. A package adds commands through the
``floe_agents.commands`` group (a ``register(app)`` callable) and names targets through ``floe_agents.targets``
(a callable returning the path of a targets file, so ``--target NAME`` works). The embedded lab reaches the CLI
this way (``lab``, ``demo``, ``--target lab``); so can a third party, and a plugin that fails to load is one
line on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import typer

from floe_agents._installed import entry_points

__all__ = ["COMMANDS_GROUP", "TARGETS_GROUP", "add_commands", "named_target"]

COMMANDS_GROUP = "floe_agents.commands"
TARGETS_GROUP = "floe_agents.targets"


def add_commands(app: typer.Typer) -> None:
    """Let every ``floe_agents.commands`` entry point register its commands on ``app``."""
    for ep in entry_points(group=COMMANDS_GROUP):
        try:
            register: Callable[[typer.Typer], None] = ep.load()
            register(app)
        except Exception as exc:  # a broken plugin must not take the whole command line down
            sys.stderr.write(
                f"floe-agents: warning: commands from {ep.value} not loaded: {type(exc).__name__}: {exc}\n"
            )


def named_target(name: str) -> Path | None:
    """The targets file a ``floe_agents.targets`` entry point names ``name`` (e.g. ``lab``), or None if none does.

    Raises :class:`ConfigError` with the plugin's own reason when it knows the name but has nothing to offer
    (``no running lab``)."""
    from floe_agents.config import ConfigError  # noqa: PLC0415 - pydantic: not for every start of the CLI

    for ep in entry_points(group=TARGETS_GROUP, name=name):
        try:
            locate: Callable[[], Path] = ep.load()
        except Exception as exc:
            raise ConfigError("--target", f"{name}: {ep.value} failed to load ({type(exc).__name__}: {exc})") from None
        return locate()
    return None
