"""The bar of issue 13: a lab scenario and a test per fault class, under other names than the charts'.

One healthy lab is started under another namespace, release, warehouse and bucket prefix. The lab's injections
(``floe_lab/injections/*.yaml``: why a workload does not run, config references, URLs, telemetry, a component that
stops, a prefix slip, the cluster API) are made one after another, as someone would break a cluster (the real
``kubectl``; platform.yaml or the targets file for the last two); ``floe-agents investigate`` is run with nothing
but the lab's targets file; each is undone before the next.

One fault of each class is made on every run (``every_run`` in its file); ``FLOE_TEST_ALL_INJECTIONS=1`` makes all
of them. For each: the top root cause the fault adds is on the faulty component (and is the injection's rule where
it names one), it carries a fix, nothing that fails or warns is left unexplained, and no line of the report names
the upstream charts' names. ``bench/unseen_faults.py`` runs all of them under the default names: together, the same
faults under other names give the same diagnosis.

Why one lab for all: each start costs a minute on this machine; a fault and its undo cost about 20 s."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from floe_lab.injections import CLASSES, Injection, injection_names, load_injection, make
from floe_lab.names import LabNames
from tests.support.lab import cli

pytestmark = [
    pytest.mark.lab,
    pytest.mark.timeout(900),
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on PATH to inject the faults with"),
]

NAMES = LabNames(namespace="data-platform", release="acme", warehouse="acme_wh", bucket_prefix="acme-lake")
DEFAULTS = re.compile(r"floe-infra|floe-dagster|floe-cube|floe-demo|floe-k8s-local|demo_catalog|iceberg-|-n floe\b")
Report = dict[str, Any]


def diagnose(state: Path) -> Report:
    done = cli("investigate", "--target", str(state / "targets.yaml"), "--json", timeout=300)
    assert done.returncode in (0, 1, 2), done.stderr[-4000:]
    report: Report = json.loads(done.stdout)
    return report


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    state = tmp_path_factory.mktemp("lab-injected")
    options = ["--namespace", NAMES.namespace, "--release", NAMES.release, "--warehouse", NAMES.warehouse]
    up = cli("lab", "up", "--state", str(state), *options, "--bucket-prefix", NAMES.bucket_prefix, timeout=600)
    try:
        assert up.returncode == 0, up.stderr[-4000:]
        # The pipeline run `lab up` launches must finish first: a fault that restarts the user code would cut it
        # short, and "no run yet" is not the fault's.
        for _ in range(60):
            if not any(c["rule"] == "no-pipeline-run-yet" for c in diagnose(state)["root_causes"]):
                break
            time.sleep(3)
        yield state
    finally:
        down = cli("lab", "down", "--state", str(state), timeout=300)
        assert down.returncode == 0, down.stderr


def test_every_class_has_an_injection_and_one_made_on_every_run() -> None:
    faults = [load_injection(name) for name in injection_names()]
    assert {f.fault_class for f in faults} == set(CLASSES)
    every_run = [f.fault_class for f in faults if f.every_run]
    assert sorted(every_run) == sorted(CLASSES)  # one of each class, no more


def chosen() -> list[str]:
    """One fault of each class on every run; all of them with FLOE_TEST_ALL_INJECTIONS=1."""
    every = os.environ.get("FLOE_TEST_ALL_INJECTIONS") == "1"
    return [name for name in injection_names() if every or load_injection(name).every_run]


@pytest.mark.parametrize("name", chosen())
def test_an_injected_fault_is_diagnosed_on_its_component(lab: Path, name: str) -> None:
    fault = load_injection(name)
    # What the lab shows already is not this fault's (an earlier one may leave a trace): only what it adds counts.
    before = {(c["rule"], c["component"]) for c in diagnose(lab)["root_causes"]}
    make(fault, lab)
    try:
        report = _settled_diagnosis(lab, fault, before)
    finally:
        make(fault, lab, undo=True)
    causes = [c for c in report["root_causes"] if (c["rule"], c["component"]) not in before]
    said = [f"{c['rule']} on {c['component']}: {c['title']}" for c in causes]
    assert causes, f"{name}: no root cause ({[c['title'] for c in report['root_causes']]})"
    top = causes[0]
    assert top["component"] == fault.component, said
    if fault.rule is not None:
        assert top["rule"] == fault.rule, said
    assert top["remediation"]["manual"] or top["remediation"]["playbook"], top
    others = report["other_findings"]
    loose = [(o["status"], o["code"], o["summary"]) for o in others if o["status"] in ("fail", "warn")]
    assert loose == [], said
    assert DEFAULTS.findall(json.dumps(report)) == []  # every name in it is the lab's own


def _settled_diagnosis(lab: Path, fault: Injection, before: set[tuple[str, str]]) -> Report:
    """The diagnosis once the fault has played out. A kubelet writes a pod's state on its next sync, so a run right
    after the change may see a passing state (a new pod running, not Ready yet, before it exits): a run whose top
    new root cause is not yet the fault's is done again, a few times at most, and the last one is judged."""
    report = diagnose(lab)
    for _ in range(6):
        new = [c for c in report["root_causes"] if (c["rule"], c["component"]) not in before]
        if new and new[0]["component"] == fault.component and fault.rule in (None, new[0]["rule"]):
            return report
        time.sleep(3)
        report = diagnose(lab)
    return report
