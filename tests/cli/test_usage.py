"""Usage errors (finding 4): every one is one line `floe-agents: error: ...` and exit 3, never click's box and 2.

Exit 2 means "failures found" to CI; a typo in a CronJob's arguments must not read as a failing platform.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("floe-agents"))

USAGE_ERRORS: list[tuple[str, list[str], str]] = [
    ("timeout not a number", ["investigate", "--timeout", "abc"], "'--timeout'"),
    ("timeout nan", ["investigate", "--timeout", "nan"], "nan is not a positive number of seconds"),
    ("timeout inf", ["investigate", "--timeout", "inf"], "inf is not a positive number of seconds"),
    ("timeout negative", ["investigate", "--timeout", "-1"], "-1 is not a positive number of seconds"),
    ("timeout zero", ["investigate", "--timeout", "0"], "0 is not a positive number of seconds"),
    ("concurrency zero", ["investigate", "--concurrency", "0"], "'--concurrency'"),
    ("log level unknown", ["investigate", "--log-level", "loud"], "'loud' is not one of debug, info, warning, error"),
    ("unknown option", ["investigate", "--bogus"], "No such option: --bogus"),
    ("missing argument", ["investigate", "--report"], "'--report' requires an argument"),
    ("unknown command", ["investigat"], "No such command 'investigat'"),
    ("config is a folder", ["investigate", "--config", "{tmp}"], "is a directory"),
    ("config not UTF-8", ["investigate", "--config", "{tmp}/bin.yaml"], "bin.yaml: not UTF-8"),
]


@pytest.mark.parametrize(("name", "args", "message"), USAGE_ERRORS, ids=[u[0] for u in USAGE_ERRORS])
def test_usage_error_is_one_line_and_exit_3(tmp_path: Path, name: str, args: list[str], message: str) -> None:
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00 not text")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = subprocess.run([EXE, *argv], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("floe-agents: error: "), result.stderr
    assert message in lines[0] and "Traceback" not in result.stderr


def test_bare_command_prints_the_help_and_exits_0() -> None:
    result = subprocess.run([EXE], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "Usage: floe-agents" in result.stdout and "investigate" in result.stdout
