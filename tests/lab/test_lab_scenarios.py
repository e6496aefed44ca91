"""Every lab scenario, brought up with the real CLI, leaves exactly its expected faults on the real servers.

One session-scoped lab per scenario (pytest groups the tests by it), started with `floe-agents lab up` and
stopped with `floe-agents lab down`, which must leave nothing listening. The checks in ``lab_states`` talk to
the servers directly (Kubernetes API, PostgreSQL, the catalog, Jaeger, Marquez), never through floe-agents.
The JSON report of each scenario must be the one recorded in ``tests/golden`` (timings and the names a lab picks
taken out): the restructuring of step 4 changed no report, and later steps change one only on purpose
(re-record with ``python -m tests.golden.record --record NAME`` and review the diff).
"""

from __future__ import annotations

import difflib
import json

import anyio
import pytest

from floe_lab.mutations import FLOE_AGENTS, MutationCounts, mutation_counts
from floe_lab.scenario import load_scenario, scenario_names
from tests.golden.normalize import Lab
from tests.golden.record import golden_path
from tests.support.lab import LabHandle, cli
from tests.support.lab_states import STATES

pytestmark = [pytest.mark.lab, pytest.mark.parametrize("lab", scenario_names(), indirect=True)]


def test_scenario_faults_are_really_present(lab: LabHandle) -> None:
    scenario = load_scenario(lab.info["scenario"])
    observed = {name for name, check in STATES.items() if check(lab)}
    assert observed == set(scenario.expect), f"{scenario.name}: observed {sorted(observed)}"


def test_lab_status_reports_processes_and_pods(lab: LabHandle) -> None:
    status = cli("lab", "status", "--state", str(lab.state_dir), timeout=30)
    assert status.returncode == 0, status.stderr
    assert "kube-apiserver" in status.stdout and "floe-infra-polaris" in status.stdout
    if "secret-missing" in load_scenario(lab.info["scenario"]).expect:
        assert "CreateContainerConfigError" in status.stdout


def test_investigate_against_the_lab(lab: LabHandle) -> None:
    result = cli("investigate", "--target", str(lab.state_dir / "targets.yaml"), "--json", timeout=60)
    report = json.loads(result.stdout)
    scenario = load_scenario(lab.info["scenario"])
    want, got = golden_path(scenario.name).read_text(encoding="utf-8"), Lab(lab.state_dir).report(result.stdout)
    diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "now", n=2))
    assert got == want, f"{scenario.name}: the report is not the recorded one\n{diff[:6000]}"
    if scenario.name == "healthy":
        assert result.returncode == 0, [f["summary"] for f in report["other_findings"]]
        assert report["root_causes"] == []
    else:
        # Every injected fault fails something: the run says so (exit 2) and names the scenario's top root cause.
        assert result.returncode == 2, result.stderr
        assert report["root_causes"][0]["rule"] == scenario.root_causes[0]


def _changes(lab: LabHandle) -> MutationCounts:
    return anyio.run(mutation_counts, lab.state_dir)


@pytest.mark.changes_lab
def test_heal_plans_without_writing_then_heals_to_green_and_a_second_heal_does_nothing(lab: LabHandle) -> None:
    """The scenario's lab, after every read-only test of it: dry run (zero writes at the four servers), heal, then
    a healthy investigation and a second heal that plans nothing."""
    scenario = load_scenario(lab.info["scenario"])
    target = str(lab.targets_file)
    before = _changes(lab)
    dry = cli("heal", "--dry-run", "--target", target, "--json", timeout=240)
    writes = _changes(lab).minus(before)
    assert writes.total_of(FLOE_AGENTS) == {"kubernetes": 0, "s3": 0, "postgres": 0, "polaris": 0}
    assert writes.kubernetes.dry_run_of(FLOE_AGENTS) == 0  # not even a server-side dry run: planning only reads
    plan = json.loads(dry.stdout)
    assert plan["mode"] == "dry-run" and plan["applied"] == []
    if scenario.name == "healthy":
        assert dry.returncode == 0 and plan["outcome"] == "healthy" and plan["plan"] == [], dry.stderr[-2000:]
        return
    assert dry.returncode == 1 and plan["outcome"] == "planned", dry.stderr[-2000:]
    automatic = {p["cause"] for p in plan["plan"] if p["kind"] == "automatic"}
    assert scenario.root_causes[0] in automatic, plan["plan"]
    if scenario.name == "seed":
        # Its five faults are each healed here in their own scenario, and the seed as a whole is healed to green
        # twice more: by `floe-agents demo` (test_cli_demo.py) and by the heal CronJob in-cluster
        # (test_in_cluster_cronjob.py). A third seed heal here cost the suite 2.5 minutes.
        return

    # A hook Job that never ran is the one thing heal does not re-create (it never saw the Job; `helm upgrade` can):
    # it makes what the Job would have made, and the Job's absence is then settled (moot, counted ok).
    first = cli("investigate", "--target", target, "--json", timeout=120)
    never_ran = [("warn", f["code"], f["subject"]) for f in json.loads(first.stdout)["findings"]
                 if f["code"] == "k8s.hook_job_absent" and f["status"] == "warn"]  # fmt: skip
    healed = cli("heal", "--yes", "--target", target, "--json", timeout=600)
    report = json.loads(healed.stdout)
    failures = [(a["playbook"], a["error"]) for a in report["applied"] if a["error"]]
    after = cli("investigate", "--target", target, "--json", timeout=120)
    left = [(f["status"], f["code"], f["subject"]) for f in json.loads(after.stdout)["findings"] if f["status"] != "ok"]
    # Every scenario's causes have a playbook: each is healed and verified, and the final diagnosis is green.
    assert not failures and report["outcome"] == "healed", (
        report["outcome"],
        report["causes_after"],
        [(p["cause"], p["kind"], p["reason"]) for p in report["plan"] if p["kind"] != "automatic"],
        failures,
        left,
        healed.stderr[-3000:],
    )
    assert set(left) <= set(never_ran), left  # nothing left but a hook Job's absence that was there before
    assert healed.returncode == 0
    assert report["causes_after"] == [] and all(a["verified"] for a in report["applied"])
    assert set(scenario.root_causes) <= {a["cause"] for a in report["applied"]}
    wrote = _changes(lab).minus(before).total_of(FLOE_AGENTS)
    assert sum(n or 0 for n in wrote.values()) > 0 and any(a["changes"] for a in report["applied"]), wrote

    assert json.loads(after.stdout)["root_causes"] == [] and after.returncode == 0, left
    mark = _changes(lab)
    again = cli("heal", "--yes", "--target", target, "--json", timeout=240)
    second = json.loads(again.stdout)
    assert second["applied"] == [] and not [p for p in second["plan"] if p["kind"] == "automatic"], again.stderr[-2000:]
    # Nothing written but heal's own Lease (taken and released: two writes at the Kubernetes API).
    assert _changes(lab).minus(mark).total_of(FLOE_AGENTS) == {"kubernetes": 2, "s3": 0, "postgres": 0, "polaris": 0}
