"""Step 8's done-when, end to end in the lab with the real kubectl: floe-agents runs in the cluster it diagnoses.

`kubectl apply -k` of the shipped overlay (through a thin overlay of the test's: a schedule of every minute, and
the collector's OTLP/HTTP port, since gRPC's own C resolver cannot see the lab's pod DNS) → the lab's CronJob
controller fires → the pod runs `floe-agents investigate` in-cluster (its ServiceAccount's token, RBAC enforced by
the lab's API) → the ConfigMap floe-agents-report holds a report naming the seed's root causes → the run's trace is
in the lab's Jaeger, and the API recorded no 403 for the account. Then the heal overlay: two runs at once, one
heals the seed, the other reports the Lease holder; an investigation afterwards finds the platform healthy.

Why one module with its own seed lab: the scenario labs other tests share are read-only until their own heal test,
and this one writes (RBAC objects, the CronJob, the report, the heal).
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

from floe_lab.scenario import load_scenario
from tests.support.lab import NS, LabHandle, cli, start_lab

pytestmark = [pytest.mark.lab, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl")
ACCOUNT = f"system:serviceaccount:{NS}:floe-agents"
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


def test_the_cronjob_runs_investigate_in_cluster_and_leaves_its_report_and_trace(
    seed: LabHandle, tmp_path: Path
) -> None:
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

    access = seed.kube(f"/lab/v1/requests/by-user?user={ACCOUNT}").json()["by_user"].get(ACCOUNT, [])
    assert access, "the run authenticated as its ServiceAccount"
    assert [a for a in access if a["code"] == 403] == [], "the investigate Role grants all the run asks"

    query = seed.url("floe-infra-jaeger", "query")

    def traced() -> bool:
        return "floe-agents" in httpx.get(f"{query}/api/services", timeout=10).json()["data"]

    eventually("floe-agents' trace in Jaeger", traced)


def test_the_heal_cronjob_heals_the_seed_and_a_second_run_reports_the_lease_holder(
    seed: LabHandle, tmp_path: Path
) -> None:
    kubectl(seed, "apply", "-k", str(overlay(tmp_path, "heal", schedule="0 0 1 1 *")))
    for name in ("heal-a", "heal-b"):  # two runs at once, as a retried schedule or a person's manual run would
        manifest = kubectl(seed, "-n", NS, "create", "job", name, "--from=cronjob/floe-agents", "--dry-run=client",
                           "-o", "json")  # fmt: skip
        kubectl(seed, "create", "-f", "-", stdin=manifest)
    names = {"heal-a", "heal-b"}
    eventually("both heal runs finished", lambda: names <= {j["metadata"]["name"] for j in finished_jobs(seed)}, 600)
    logs = {name: kubectl(seed, "-n", NS, "logs", f"job/{name}", check=False) for name in ("heal-a", "heal-b")}
    locked = [name for name, text in logs.items() if f"another heal holds Lease {NS}/floe-agents-heal" in text]
    assert len(locked) == 1, logs  # one healed, the other said who held the Lease and changed nothing

    healed = report(seed, "heal")
    assert healed["outcome"] == "healed", (healed["outcome"], healed.get("causes_after"))
    after = cli("investigate", "--target", str(seed.targets_file), "--json", timeout=300)
    assert after.returncode == 0, json.loads(after.stdout)["root_causes"] if after.stdout else after.stderr[-2000:]
