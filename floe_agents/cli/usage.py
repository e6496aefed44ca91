"""Exit codes of the command line, and usage errors as one line.

``0`` healthy · ``1`` warnings or undecided checks only · ``2`` failures found · ``3`` the tool itself could not run
(bad config, unreadable file, a usage error) · ``130``/``143`` interrupted by SIGINT/SIGTERM (128 + the signal).

click's standalone mode prints a multi-line box for a usage error (``--timeout abc``, an unknown option, a missing
argument) and exits 2, which is the "failures found" code. :func:`run` invokes the command line with
``standalone_mode=False`` and maps every click error, for every command (plugins' included), to one line
``floe-agents: error: ...`` and exit 3. Only typer is imported here: this runs at every start.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError  # typer vendors click since 0.22

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "interrupted_exit_code", "one_line", "run"]

EXIT_USAGE = 3
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130


def interrupted_exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) folded to one space."""
    return " ".join(text.split())


def run(command: Any) -> int:
    """Run ``command`` (a typer app or a click command) on ``sys.argv``; returns the process's exit code."""
    try:
        code = command(standalone_mode=False)
    except NoArgsIsHelpError as exc:  # a bare `floe-agents` (or `lab`): the help, not an error
        sys.stdout.write(exc.ctx.get_help() + "\n")
        return 0
    except ClickException as exc:  # UsageError, BadParameter, NoSuchOption, MissingParameter, FileError
        sys.stderr.write(f"floe-agents: error: {one_line(exc.format_message())}\n")
        return EXIT_USAGE
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("floe-agents: interrupted\n")
        return EXIT_INTERRUPTED
    return code if isinstance(code, int) else 0
