"""The fixed start-up cost of `floe-agents investigate` (finding 13 of issue 11), against the libraries' own floor.

Why CPU time and not wall time: on a shared 2-core machine wall time measures the neighbours. Each sample is one
fresh process's user+system CPU (``RUSAGE_CHILDREN``), median of ``--runs``:

- ``help``: `floe-agents --help`;
- ``investigate``: a real `investigate` with every component skipped, so no probe runs: the command, config and
  targets loading, the probes' registration, the engine, and the report written — what every run pays before its
  first probe;
- ``floor``: a bare interpreter importing the libraries a run cannot do without (typer, rich, httpx, pydantic,
  anyio, PyYAML, structlog) and parsing investigate's options with a typer command of the same shape: the bound
  that the same machine, in the same run, sets on any start-up of this tool.

    .venv/bin/python -m bench.startup [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

EXE = str(Path(sys.executable).with_name("floe-agents"))
COMPONENTS = (
    "cube,dagster-webserver,dagster-daemon,dagster-user-code,jaeger,marquez,polaris,s3,postgres,iceberg,kubernetes"
)
# The libraries a run cannot do without, and a typer command with investigate's options parsed once (typer 0.29
# builds a pydantic adapter per option when it parses): no floe_agents code at all.
FLOOR = """
import sys
from pathlib import Path
from typing import Optional
import typer, rich.console, httpx, pydantic, anyio, yaml, structlog
app = typer.Typer()
@app.command()
def investigate(config: Optional[Path] = None, target: Optional[str] = None, report: Path = Path("r.md"),
                json: bool = False, only: Optional[list[str]] = None, skip: Optional[list[str]] = None,
                timeout: float = 20.0, concurrency: int = 32, log_level: str = "warning",
                rules: Optional[list[Path]] = None, quiet: bool = False) -> None:
    pass
sys.argv = ["investigate", "--target", "t.yaml", "--skip", "a,b", "--report", "r.md"]
app()
"""
BOUND_S = 0.3  # the bar for `--help` and for investigate's fixed start-up


def _cpu(argv: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "TERM": "dumb"}
    subprocess.run(argv, capture_output=True, check=False, env=env, timeout=120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        targets = Path(tmp) / "targets.yaml"
        targets.write_text("vantage: local\nvantages:\n  local: {resolver: system}\n")
        cases = {
            "floor": [sys.executable, "-c", FLOOR],
            "help": [EXE, "--help"],
            "investigate": [
                EXE,
                "investigate",
                "--target",
                str(targets),
                "--skip",
                COMPONENTS,
                "--report",
                str(Path(tmp) / "report.md"),
            ],
        }
        _cpu(cases["investigate"])  # warm the page cache once
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):  # interleaved, so a burst of load hits every case alike
            for name, argv in cases.items():
                samples[name].append(_cpu(argv))
    median = {name: statistics.median(values) for name, values in samples.items()}
    floor = median["floor"]
    for name in ("floor", "help", "investigate"):
        spread = f"{min(samples[name]):.3f}-{max(samples[name]):.3f}"
        verdict = "" if name == "floor" else ("  PASS" if median[name] <= BOUND_S else "  OVER") + f" (bar {BOUND_S} s)"
        ratio = median[name] / floor
        print(f"{name:12} {median[name]:.3f} s CPU (median of {args.runs}, {spread})  {ratio:4.2f}x floor{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
