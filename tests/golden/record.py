"""Record (``--record``) or check (default) the ``--json`` report of every lab scenario against ``tests/golden``.

Only the command line is used (``lab up``, ``investigate --json``, ``lab down``), so the same script judges the code
before and after a restructuring: ``python -m tests.golden.record --record`` on the old tree, then the check on the
new one. The test suite makes the same comparison for each scenario's lab (tests/lab/test_lab_scenarios.py).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.golden.normalize import Lab

HERE = Path(__file__).parent
EXE = str(Path(sys.executable).with_name("floe-agents"))


def scenarios() -> list[str]:
    out = subprocess.run([EXE, "lab", "scenarios"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def golden_path(scenario: str) -> Path:
    return HERE / f"{scenario}.json"


_RUN_STATUS = "query Run($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"


def wait_for_first_run(state: Path, patience_s: float = 240) -> None:
    """Let the pipeline run ``lab up`` launched finish (its steps, traces and lineage land), as the lab tests do:
    what the report says about runs depends on it. Asked through Dagster's GraphQL API, like any client."""
    info = json.loads((state / "lab.json").read_text())
    if not info.get("run_id"):
        return
    port = json.loads((state / "ports.json").read_text())["floe-dagster-dagster-webserver"]["http"]
    deadline = time.monotonic() + patience_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, TypeError):
            answer = httpx.post(
                f"http://127.0.0.1:{port}/graphql",
                json={"query": _RUN_STATUS, "variables": {"id": info["run_id"]}},
                timeout=10,
            ).json()
            if answer["data"]["runOrError"].get("status") in ("SUCCESS", "FAILURE", "CANCELED"):
                return
        time.sleep(1)
    raise SystemExit(f"the lab's pipeline run {info['run_id']} did not finish within {patience_s:g}s")


def report_of(state: Path) -> str:
    run = subprocess.run(
        [EXE, "investigate", "--target", str(state / "targets.yaml"), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if run.returncode == 3:
        raise SystemExit(f"investigate failed: {run.stderr}")
    return Lab(state).report(run.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--record", action="store_true", help="write the golden files instead of checking them")
    parser.add_argument("names", nargs="*", help="scenarios (default: all)")
    args = parser.parse_args()
    failed = []
    for name in args.names or scenarios():
        state = Path(tempfile.mkdtemp(prefix=f"golden-{name}-"))
        try:
            up = subprocess.run(
                [EXE, "lab", "up", "--scenario", name, "--state", str(state)],
                capture_output=True,
                text=True,
                check=False,
            )
            if up.returncode:
                raise SystemExit(f"lab up {name} failed: {up.stderr[-2000:]}")
            wait_for_first_run(state)
            got = report_of(state)
        finally:
            subprocess.run([EXE, "lab", "down", "--state", str(state)], capture_output=True, check=False)
            shutil.rmtree(state, ignore_errors=True)
        if args.record:
            golden_path(name).write_text(got, encoding="utf-8")
            print(f"recorded {name}")
            continue
        want = golden_path(name).read_text(encoding="utf-8")
        if got == want:
            print(f"same     {name}")
        else:
            failed.append(name)
            print(f"CHANGED  {name}")
            sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "now"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
