"""Single faults the lab's scenarios do not stage, injected into a healthy lab with the real kubectl, each diagnosed by
``floe-agents investigate``: is the top root cause on the faulty component, and is nothing left unexplained?

Why: the rules were written against the lab's scenarios; what a platform engineer meets is whatever breaks. Each
fault here is a class of issue 13 (why a workload does not run, config references, malformed or misdirected URLs,
telemetry under another name, a component that stops), injected as a real state through the Kubernetes API the
way someone would break a cluster, then undone before the next. Prints one line per fault and the share diagnosed.

    python -m bench.unseen_faults            # needs kubectl on PATH; about 5 minutes on 2 cores
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXE = str(Path(sys.executable).with_name("floe-agents"))
USER_CODE = "deploy/floe-dagster-dagster-user-deployments-floe-demo"
CUBE = "deploy/floe-cube-api"


@dataclass(frozen=True)
class Fault:
    name: str
    component: str  # where the fault is: the top root cause must be on it
    inject: tuple[tuple[str, ...], ...]
    undo: tuple[tuple[str, ...], ...]
    settle: tuple[str, ...] = ()  # a rollout to wait for (kubectl rollout status), if any


FAULTS = (
    Fault("lineage URL without a scheme", "dagster-user-code",
          (("set", "env", USER_CODE, "OPENLINEAGE_URL=//floe-infra-marquez:5000"),),
          (("set", "env", USER_CODE, "OPENLINEAGE_URL=http://floe-infra-marquez:5000"),), (USER_CODE,)),
    Fault("catalog URI on a port the Service does not serve", "dagster-user-code",
          (("set", "env", USER_CODE, "POLARIS_URI=http://floe-infra-polaris:8199/api/catalog"),),
          (("set", "env", USER_CODE, "POLARIS_URI=http://floe-infra-polaris:8181/api/catalog"),), (USER_CODE,)),
    Fault("catalog URI with a path the catalog does not serve", "dagster-user-code",
          (("set", "env", USER_CODE, "POLARIS_URI=http://floe-infra-polaris:8181/catalog"),),
          (("set", "env", USER_CODE, "POLARIS_URI=http://floe-infra-polaris:8181/api/catalog"),), (USER_CODE,)),
    Fault("traces under another service name", "dagster-user-code",
          (("set", "env", USER_CODE, "OTEL_SERVICE_NAME=floe-renamed"),),  # was a ConfigMap reference
          (("set", "env", USER_CODE, "--from=configmap/floe-infra-platform-config", "--keys=OTEL_SERVICE_NAME"),),
          (USER_CODE,)),
    Fault("Cube's image cannot be pulled", "cube",
          (("patch", CUBE, "--type=merge", "-p",
            '{"spec":{"template":{"metadata":{"annotations":{"lab.floe.dev/launch":"cube-nonexistent"}}}}}'),),
          (("patch", CUBE, "--type=merge", "-p",
            '{"spec":{"template":{"metadata":{"annotations":{"lab.floe.dev/launch":"cube"}}}}}'),), ()),
    Fault("a ConfigMap key the user code reads is gone", "dagster-user-code",
          (("patch", "configmap", "floe-infra-platform-config", "--type=json", "-p",
            '[{"op":"remove","path":"/data/OTEL_SERVICE_NAME"}]'), ("rollout", "restart", USER_CODE)),
          (("patch", "configmap", "floe-infra-platform-config", "--type=merge", "-p",
            '{"data":{"OTEL_SERVICE_NAME":"floe-k8s-local"}}'), ("rollout", "restart", USER_CODE)), ()),
    Fault("Cube's new version crashes on a missing module", "cube",
          (("patch", CUBE, "--type=json", "-p", json.dumps([
              {"op": "add", "path": "/spec/template/metadata/annotations/lab.floe.dev~1launch", "value": "exec"},
              {"op": "add", "path": "/spec/template/spec/containers/0/command",
               "value": ["python3", "-c", "import cube_semantic_layer_server"]}])),),
          (("patch", CUBE, "--type=json", "-p", json.dumps([
              {"op": "add", "path": "/spec/template/metadata/annotations/lab.floe.dev~1launch", "value": "cube"},
              {"op": "remove", "path": "/spec/template/spec/containers/0/command"}])),), ()),
    Fault("Marquez restarted with an argument it does not know", "marquez",
          (("patch", "deploy/floe-infra-marquez", "--type=json", "-p", json.dumps([
              {"op": "add", "path": "/spec/template/metadata/annotations/lab.floe.dev~1launch", "value": "exec"},
              {"op": "add", "path": "/spec/template/spec/containers/0/command",
               "value": ["python3", "-m", "http.server", "--no-such-flag"]}])),),
          (("patch", "deploy/floe-infra-marquez", "--type=json", "-p", json.dumps([
              {"op": "add", "path": "/spec/template/metadata/annotations/lab.floe.dev~1launch", "value": "marquez"},
              {"op": "remove", "path": "/spec/template/spec/containers/0/command"}])),), ()),
    Fault("Jaeger's query Service selects no pod", "jaeger",
          (("patch", "service/floe-infra-jaeger-query", "--type=merge", "-p",
            '{"spec":{"selector":{"app.kubernetes.io/component":"jaeger-typo"}}}'),),
          (("patch", "service/floe-infra-jaeger-query", "--type=merge", "-p",
            '{"spec":{"selector":{"app.kubernetes.io/component":"jaeger"}}}'),), ()),
    Fault("Marquez scaled to zero", "marquez",
          (("scale", "deploy/floe-infra-marquez", "--replicas=0"),),
          (("scale", "deploy/floe-infra-marquez", "--replicas=1"),), ("deploy/floe-infra-marquez",)),
)  # fmt: skip


def kubectl(kubeconfig: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1"}
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)


Report = dict[str, Any]  # the --json report (docs/report.schema.json), read for a handful of keys


def diagnose(state: Path) -> Report:
    run = subprocess.run([EXE, "investigate", "--target", str(state / "targets.yaml"), "--json"],
                         capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    report: Report = json.loads(run.stdout)
    return report


Seen = set[tuple[str, str]]


def judge(fault: Fault, report: Report, before: Seen) -> tuple[bool, str]:
    """The top root cause this fault added (one the lab had before it is not the fault's), and what is loose."""
    causes = [c for c in report["root_causes"] if (c["rule"], c["component"]) not in before]
    others = report["other_findings"]
    loose = [f"{o['status']} {o['code']}" for o in others if o.get("status") in ("fail", "warn")]
    top = causes[0] if causes else None
    got = f"{top['rule']} on {top['component']}: {top['title']}" if top else "no root cause"
    ok = top is not None and top["component"] == fault.component and not loose
    return ok, got + (f" | unexplained: {', '.join(loose)}" if loose else "")


def main() -> int:
    if shutil.which("kubectl") is None:
        print("kubectl is not on PATH: nothing to drive the lab with")
        return 2
    state = Path(tempfile.mkdtemp(prefix="floe-unseen-"))
    up = subprocess.run([EXE, "lab", "up", "--state", str(state)], capture_output=True, text=True, check=False)
    if up.returncode != 0:
        print(up.stdout[-2000:], up.stderr[-2000:])
        return 3
    kubeconfig = state / "kubeconfig"
    hits = 0
    try:
        healthy = diagnose(state)
        for _ in range(30):  # the run `lab up` launched: a fault that restarts the user code must not cut it short
            if not any(c["rule"] == "no-pipeline-run-yet" for c in healthy["root_causes"]):
                break
            time.sleep(5)
            healthy = diagnose(state)
        before: Seen = {(c["rule"], c["component"]) for c in healthy["root_causes"]}
        titles = [c["title"] for c in healthy["root_causes"]]
        print(f"the lab before any fault: exit {healthy['exit_code']}, root causes {titles}")
        for fault in FAULTS:
            began = time.monotonic()
            # What the lab shows now is not this fault's (an earlier fault may leave a trace: a restarted Marquez
            # has lost its lineage): only the root causes the fault adds are judged.
            before = {(c["rule"], c["component"]) for c in diagnose(state)["root_causes"]}
            for args in fault.inject:
                done = kubectl(kubeconfig, *args)
                assert done.returncode == 0, (fault.name, args, done.stderr)
            for target in fault.settle:
                kubectl(kubeconfig, "rollout", "status", target, "--timeout=120s")
            time.sleep(3)  # the kubelet's resync: a restarted pod's status is written
            ok, got = judge(fault, diagnose(state), before)
            hits += ok
            print(f"{'HIT ' if ok else 'MISS'} {fault.name} (expected on {fault.component}): {got} "
                  f"[{time.monotonic() - began:.0f}s]")  # fmt: skip
            for args in fault.undo:
                kubectl(kubeconfig, *args)
            for target in fault.settle:
                kubectl(kubeconfig, "rollout", "status", target, "--timeout=120s")
        print(f"diagnosed {hits} of {len(FAULTS)} unseen single faults on their component with nothing unexplained")
    finally:
        subprocess.run([EXE, "lab", "down", "--state", str(state)], capture_output=True, check=False)
        shutil.rmtree(state, ignore_errors=True)
    return 0 if hits == len(FAULTS) else 1


if __name__ == "__main__":
    raise SystemExit(main())
