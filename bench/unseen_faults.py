"""Single faults the lab's scenarios do not stage, injected into a healthy lab with the real kubectl, each diagnosed by
``floe-agents investigate``: is the top root cause on the faulty component, and is nothing left unexplained?

Why: the rules were written against the lab's scenarios; what a platform engineer meets is whatever breaks. Each
fault is one of the lab's injections (``floe_lab/injections/*.yaml``, a class of issue 13 each: why a workload does
not run, config references, malformed or misdirected URLs, telemetry, a component that stops), injected as a real
state through the Kubernetes API the way someone would break a cluster, then undone before the next. Prints one line
per fault and the share diagnosed.

    python -m bench.unseen_faults [NAME ...]          # needs kubectl on PATH; about 20 s a fault on 2 cores
    python -m bench.unseen_faults --release acme --namespace data-platform    # the same, under other names
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from floe_lab.injections import Injection, injection_names, load_injection, make
from floe_lab.names import LabNames

EXE = str(Path(sys.executable).with_name("floe-agents"))
Report = dict[str, Any]  # the --json report (docs/report.schema.json), read for a handful of keys
Seen = set[tuple[str, str]]


def diagnose(state: Path) -> Report:
    run = subprocess.run([EXE, "investigate", "--target", str(state / "targets.yaml"), "--json"],
                         capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    report: Report = json.loads(run.stdout)
    return report


def judge(fault: Injection, report: Report, before: Seen) -> tuple[bool, str]:
    """The top root cause this fault added (one the lab had before it is not the fault's), and what is loose."""
    causes = [c for c in report["root_causes"] if (c["rule"], c["component"]) not in before]
    loose = [f"{o['status']} {o['code']}" for o in report["other_findings"] if o.get("status") in ("fail", "warn")]
    top = causes[0] if causes else None
    got = f"{top['rule']} on {top['component']}: {top['title']}" if top else "no root cause"
    ok = top is not None and top["component"] == fault.component and not loose
    ok = ok and (fault.rule is None or (top is not None and top["rule"] == fault.rule))
    return ok, got + (f" | unexplained: {', '.join(loose)}" if loose else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="injections to run (default: all)")
    parser.add_argument("--namespace", default=LabNames.namespace)
    parser.add_argument("--release", default=LabNames.release)
    args = parser.parse_args()
    if shutil.which("kubectl") is None:
        print("kubectl is not on PATH: nothing to drive the lab with")
        return 2
    faults = [load_injection(n) for n in args.names or injection_names()]
    names = LabNames(namespace=args.namespace, release=args.release)
    state = Path(tempfile.mkdtemp(prefix="floe-unseen-"))
    up = subprocess.run([EXE, "lab", "up", "--state", str(state), "--namespace", names.namespace, "--release",
                         names.release], capture_output=True, text=True, check=False)  # fmt: skip
    if up.returncode != 0:
        print(up.stdout[-2000:], up.stderr[-2000:])
        return 3
    hits = 0
    try:
        healthy = diagnose(state)
        for _ in range(30):  # the run `lab up` launched: a fault that restarts the user code must not cut it short
            if not any(c["rule"] == "no-pipeline-run-yet" for c in healthy["root_causes"]):
                break
            time.sleep(5)
            healthy = diagnose(state)
        titles = [c["title"] for c in healthy["root_causes"]]
        print(f"the lab before any fault: exit {healthy['exit_code']}, root causes {titles}")
        for fault in faults:
            began = time.monotonic()
            # What the lab shows now is not this fault's (an earlier fault may leave a trace: a restarted Marquez
            # has lost its lineage): only the root causes the fault adds are judged.
            before = {(c["rule"], c["component"]) for c in diagnose(state)["root_causes"]}
            make(fault, state)
            for _ in range(7):  # the kubelet's resync writes a new pod's state: a passing one may show first
                time.sleep(3)
                ok, got = judge(fault, diagnose(state), before)
                if ok:
                    break
            hits += ok
            expected = f"{fault.rule or 'a cause'} on {fault.component}"
            took = time.monotonic() - began
            verdict = "HIT " if ok else "MISS"
            print(f"{verdict} {fault.name} [{fault.fault_class}] (expected {expected}): {got} [{took:.0f}s]")
            make(fault, state, undo=True)
        print(f"diagnosed {hits} of {len(faults)} single faults on their component with nothing unexplained")
    finally:
        subprocess.run([EXE, "lab", "down", "--state", str(state)], capture_output=True, check=False)
        shutil.rmtree(state, ignore_errors=True)
    return 0 if hits == len(faults) else 1


if __name__ == "__main__":
    raise SystemExit(main())
