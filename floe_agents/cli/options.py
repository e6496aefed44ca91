"""Option checks and the one-line failure every command shares; light enough for any ``--help``.

Why apart from the commands' work: a command's ``--help`` (and its argument parsing) must not load the engine, so
what typer calls while parsing lives here, with only typer and the standard library behind it.
"""

from __future__ import annotations

import math
import sys

import typer

__all__ = ["LEVEL_NAMES", "fail", "log_level_option", "seconds"]

LEVEL_NAMES = ("debug", "info", "warning", "error")
EXIT_TOOL_ERROR = 3


def fail(message: str) -> typer.Exit:
    """Print ``floe-agents: error: <message>`` on stderr; the exit (code 3) to raise."""
    sys.stderr.write(f"floe-agents: error: {message}\n")
    return typer.Exit(EXIT_TOOL_ERROR)


def seconds(value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise typer.BadParameter(f"{value:g} is not a positive number of seconds")
    return value


def log_level_option(value: str) -> str:
    if value.lower() not in LEVEL_NAMES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(LEVEL_NAMES)}")
    return value.lower()
