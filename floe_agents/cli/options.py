"""Option checks and the one-line failure every command shares; light enough for any ``--help``.

Why apart from the commands' work: a command's ``--help`` (and its argument parsing) must not load the engine, so
what typer calls while parsing lives here, with only typer and the standard library behind it.
"""

from __future__ import annotations

import math
import sys

import typer

__all__ = ["LEVEL_NAMES", "SINK_HELP", "fail", "log_level_option", "seconds", "sinks_option"]

LEVEL_NAMES = ("debug", "info", "warning", "error")
EXIT_TOOL_ERROR = 3
SINK_HELP = (
    "Also write the report there (repeatable): stdout, file:PATH, configmap:[NAMESPACE/]NAME[?keep=N], "
    "s3://BUCKET/PREFIX. Default: stdout (or the --report file)."
)


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


def sinks_option(values: list[str] | None) -> list[str] | None:
    """``--sink``: every value must name a sink (:func:`floe_agents.sinks.spec.parse_sink`), else a usage error."""
    from floe_agents.sinks.spec import parse_sink  # noqa: PLC0415 - the standard library only, but not for --help

    for value in values or ():
        try:
            parse_sink(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return values
