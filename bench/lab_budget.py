"""Lab budget benchmark: `lab up` wall time, RSS of the whole lab, `lab down` wall time — in one run.

Targets (issue 3, this 2-core machine): up <= 25 s from installed packages, down <= 5 s,
RSS <= 1.5 GB.
Up is measured to the moment `lab up` returns (workloads settled, hook Jobs done, the pipeline run launched).
RSS is summed over every process of the lab, each counted once (RSS counts shared pages in every process;
PSS splits them, so PSS is the honest total and RSS the pessimistic one). Memory is sampled after the launched
pipeline run ends.

Run: .venv/bin/python -m bench.lab_budget [--scenario healthy]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import anyio

from floe_lab.control import lab_down, lab_memory, lab_up, status_rows
from floe_lab.dagster_runs import wait_for_run
from floe_lab.scenario import load_scenario

UP_S, DOWN_S, RSS_MB = 25.0, 5.0, 1536.0


def say(line: str) -> None:
    print(f"  {line}", file=sys.stderr)


async def run(scenario: str) -> None:
    with tempfile.TemporaryDirectory(prefix="floe-lab-bench-") as tmp:
        state = Path(tmp)
        t0 = time.monotonic()
        info = await lab_up(state, load_scenario(scenario), say)
        up_s = time.monotonic() - t0
        if info.run_id:
            port = info.endpoints["floe-dagster-dagster-webserver/http"]
            print(f"pipeline run {info.run_id}: {await wait_for_run(f'http://{port}', info.run_id)}")
        rows = status_rows(state)
        whole = lab_memory(state)
        rss, pss = whole.rss_bytes / 2**20, whole.pss_bytes / 2**20
        t1 = time.monotonic()
        left = await lab_down(state, lambda _: None)
        down_s = time.monotonic() - t1
    for row in sorted(rows, key=lambda r: -r["pss_mb"]):
        print(f"  {row['name']:<66} RSS {row['rss_mb']:7.1f} MB  PSS {row['pss_mb']:7.1f} MB")
    print(f"lab up ({scenario})     : {up_s:6.1f} s   budget {UP_S:g} s   ratio {up_s / UP_S:.2f}")
    print(f"lab down             : {down_s:6.1f} s   budget {DOWN_S:g} s    ratio {down_s / DOWN_S:.2f}")
    print(
        f"lab RSS (sum)        : {rss:6.0f} MB  budget {RSS_MB:g} MB ratio {rss / RSS_MB:.2f}  "
        f"({whole.processes} processes, each counted once)"
    )
    print(f"lab PSS (sum)        : {pss:6.0f} MB  budget {RSS_MB:g} MB ratio {pss / RSS_MB:.2f}")
    print(f"ports left listening : {left or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="healthy")
    anyio.run(run, parser.parse_args().scenario)


if __name__ == "__main__":
    main()
