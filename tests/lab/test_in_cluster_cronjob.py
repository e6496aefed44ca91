"""Step 8's done-when, end to end in the lab with the real kubectl: floe-agents runs in the cluster it diagnoses, with
exactly the privileges it needs.

One seed lab of this module's own, in order:
1. Least privilege (tests/support/least_privilege.py): the investigate overlay's RBAC applied, the ServiceAccount's
   TokenRequest token, the CronJob's own command run from here; every request it makes is granted and every rule
   is used (or named with the path that needs it). `heal` under that Role reports every step not permitted and
   writes nothing.
2. `kubectl apply -k` of the shipped overlay (through a thin overlay of the test's: a schedule of every minute, and
   the collector's OTLP/HTTP port, since gRPC's own C resolver cannot see the lab's pod DNS) → the lab's CronJob
   controller fires → the pod runs `floe-agents investigate` in-cluster (its ServiceAccount's token, RBAC enforced)
   → the ConfigMap floe-agents-report names the seed's root causes → the run's trace is in the lab's Jaeger.
3. The heal overlay: two runs at once, one heals the seed under the heal Roles (every request granted, every rule
   used or excused), the other reports the Lease holder; an investigation afterwards finds the platform healthy.

Why one module and one lab: each lab start and each heal costs a minute on this machine, and the steps above
build on each other (the Roles, then the CronJob, then the heal that ends the seed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from floe_lab.kube.rbac import PolicyRule
from floe_lab.scenario import load_scenario
from tests.support.lab import NS, LabHandle, cli, start_lab
from tests.support.least_privilege import as_level, compare, cronjob_args, render_rbac, requests_of_sa

pytestmark = [pytest.mark.lab, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl")
REPORT = "floe-agents-report"


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    if KUBECTL is None:
        pytest.skip("no kubectl on PATH: this test applies the shipped manifests with the real kubectl")
    yield from start_lab("seed", tmp_path_factory.mktemp("lab-in-cluster"))


def kubectl(lab: LabHandle, *args: str, stdin: str | None = None, check: bool = True) -> str:
    env = {**os.environ, "KUBECONFIG": str(lab.state_dir / "kubeconfig")}
    done = subprocess.run(
        [str(KUBECTL), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0 or not check, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def overlay(tmp: Path, level: str, *, schedule: str) -> Path:
    """The shipped overlay for ``level`` with the test's schedule and the collector's OTLP/HTTP endpoint."""
    folder = tmp / level
    folder.mkdir()
    base = os.path.relpath(ROOT / "deploy" / "overlays" / level, folder)
    env = {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://floe-infra-jaeger-collector:4318"}
    patch = [
        {"op": "replace", "path": "/spec/schedule", "value": schedule},
        {"op": "add", "path": "/spec/jobTemplate/spec/template/spec/containers/0/env/-", "value": env},
    ]
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [base],
        "patches": [{"target": {"kind": "CronJob", "name": "floe-agents"}, "patch": json.dumps(patch)}],
    }
    (folder / "kustomization.yaml").write_text(json.dumps(kustomization), encoding="utf-8")
    return folder


def eventually(what: str, check: Any, within: float = 240.0) -> Any:
    """Poll ``check()`` until it returns something truthy; fail naming ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not (found := check()):
        assert time.monotonic() < deadline, f"not seen within {within:g}s: {what}"
        time.sleep(2)
    return found


def finished_jobs(lab: LabHandle) -> list[dict[str, Any]]:
    jobs = json.loads(kubectl(lab, "-n", NS, "get", "jobs", "-o", "json"))["items"]
    ours = [j for j in jobs if any(o.get("name") == "floe-agents" for o in j["metadata"].get("ownerReferences", []))]
    return [j for j in ours if any(c["type"] in ("Complete", "Failed") and c["status"] == "True"
                                   for c in j.get("status", {}).get("conditions", []))]  # fmt: skip


def report(lab: LabHandle, prefix: str = "report") -> dict[str, Any]:
    data = json.loads(kubectl(lab, "-n", NS, "get", "configmap", REPORT, "-o", "json"))["data"]
    return dict(json.loads(data[f"{prefix}-latest.json"]))


def test_investigate_uses_exactly_the_investigate_role(seed: LabHandle, tmp_path: Path) -> None:
    targets, rules = as_level(seed, "investigate", tmp_path)
    before = requests_of_sa(seed)
    result = cli(*cronjob_args("investigate", targets), timeout=120)
    assert result.returncode == 2, result.stderr[-3000:]  # the scenario's faults, found
    report = json.loads(result.stdout)
    assert not [f for f in report["findings"] if f["code"] == "k8s.api_unauthorized"], "a read was refused"
    compare(requests_of_sa(seed, before), rules)


def test_heal_under_the_investigate_role_reports_every_step_and_writes_nothing(seed: LabHandle, tmp_path: Path) -> None:
    targets, _ = as_level(seed, "investigate", tmp_path)
    before = requests_of_sa(seed)
    result = cli("heal", "--yes", "--target", str(targets), "--json", timeout=300)
    report = json.loads(result.stdout)
    assert report["outcome"] == "not-permitted" and result.returncode == 2, result.stderr[-3000:]
    assert report["applied"] == [] and report["not_permitted"], report
    assert all(r["needs"] for r in report["not_permitted"])
    verbs = ("create", "update", "patch", "delete", "deletecollection")
    reviews = ("authorization.k8s.io", "authentication.k8s.io")
    writes = [r for r in requests_of_sa(seed, before) if r["verb"] in verbs and r["apiGroup"] not in reviews]
    assert writes == [], writes


def test_the_cronjob_runs_investigate_in_cluster_and_leaves_its_report_and_trace(
    seed: LabHandle, tmp_path: Path
) -> None:
    before = requests_of_sa(seed)
    kubectl(seed, "apply", "-k", str(overlay(tmp_path, "investigate", schedule="* * * * *")))
    [job] = eventually("a run of the CronJob, finished", lambda: finished_jobs(seed), within=240)
    kubectl(seed, "-n", NS, "patch", "cronjob", "floe-agents", "-p", '{"spec":{"suspend":true}}')
    annotations = job["metadata"].get("annotations", {})
    assert "batch.kubernetes.io/cronjob-scheduled-timestamp" in annotations  # fired by the schedule, not by hand

    log = kubectl(seed, "-n", NS, "logs", f"job/{job['metadata']['name']}", check=False)
    assert f"report written to configmap {NS}/{REPORT}" in log, log[-3000:]
    found = report(seed)
    assert (found["vantage"], found["namespace"]) == ("cluster", NS)
    causes = [rc["rule"] for rc in found["root_causes"]]
    scenario = load_scenario("seed")
    assert causes[0] == scenario.root_causes[0], causes
    assert set(scenario.root_causes) <= set(causes), causes
    reached = {f["subject"].split(":")[0] for f in found["findings"] if f["code"] == "tcp.open"}
    assert {"floe-infra-postgresql", "floe-infra-polaris", "floe-infra-localstack"} <= reached  # through ClusterIPs
    refused = [f["subject"] for f in found["findings"] if f["code"] == "tcp.refused"]
    assert refused in ([], ["floe-dagster-dagster-webserver:80"]), refused  # the seed's webserver cannot start

    ran = requests_of_sa(seed, before)
    assert ran, "the run authenticated as its ServiceAccount"
    rules = [PolicyRule.of(r) for o in render_rbac("investigate") if o["kind"] == "Role" for r in o.get("rules") or []]
    compare(ran, rules)  # in its pod, under the shipped Roles: every request granted (no 403), no rule unused

    query = seed.url("floe-infra-jaeger", "query")

    def traced() -> bool:
        return "floe-agents" in httpx.get(f"{query}/api/services", timeout=10).json()["data"]

    eventually("floe-agents' trace in Jaeger", traced)


def test_the_heal_cronjob_heals_the_seed_and_a_second_run_reports_the_lease_holder(
    seed: LabHandle, tmp_path: Path
) -> None:
    kubectl(seed, "apply", "-k", str(overlay(tmp_path, "heal", schedule="0 0 1 1 *")))
    rules = [PolicyRule.of(r) for o in render_rbac("heal") if o["kind"] == "Role" for r in o.get("rules") or []]
    before = requests_of_sa(seed)
    for name in ("heal-a", "heal-b"):  # two runs at once, as a retried schedule or a person's manual run would
        manifest = kubectl(seed, "-n", NS, "create", "job", name, "--from=cronjob/floe-agents", "--dry-run=client",
                           "-o", "json")  # fmt: skip
        kubectl(seed, "create", "-f", "-", stdin=manifest)
    names = {"heal-a", "heal-b"}
    eventually("both heal runs finished", lambda: names <= {j["metadata"]["name"] for j in finished_jobs(seed)}, 600)
    logs = {name: kubectl(seed, "-n", NS, "logs", f"job/{name}", check=False) for name in ("heal-a", "heal-b")}
    locked = [name for name, text in logs.items() if f"another heal holds Lease {NS}/floe-agents-heal" in text]
    assert len(locked) == 1, logs  # one healed, the other said who held the Lease and changed nothing

    compare(requests_of_sa(seed, before), rules)  # both runs, in their pods: granted, and no rule unused
    healed = report(seed, "heal")
    assert healed["outcome"] == "healed", (healed["outcome"], healed.get("causes_after"))
    after = cli("investigate", "--target", str(seed.targets_file), "--json", timeout=300)
    assert after.returncode == 0, json.loads(after.stdout)["root_causes"] if after.stdout else after.stderr[-2000:]
