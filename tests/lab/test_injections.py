"""The lab's injections as files: each loads, names its class and where its cause must be, fills in the lab's names,
and the targets-file steps change how floe-agents reaches the cluster and put the file back exactly on undo."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from floe_lab.injections import CLASSES, injection_names, load_injection, make
from floe_lab.names import LabNames

ACME = LabNames(namespace="data-platform", release="acme", warehouse="acme_wh", bucket_prefix="acme-lake")


@pytest.mark.parametrize("name", injection_names())
def test_each_injection_fills_in_the_labs_names_and_assumes_none(name: str) -> None:
    fault = load_injection(name)
    assert fault.name == name and fault.fault_class in CLASSES and fault.inject and fault.undo
    words = " ".join(" ".join(step) for undo in (False, True) for step in fault.steps(ACME, undo=undo))
    assert "$" not in words  # every placeholder filled
    assert "floe-" not in words and "demo_catalog" not in words  # nothing of the charts' names is written in


def test_steps_and_rollouts_take_the_names_the_lab_runs_with() -> None:
    fault = load_injection("traces-renamed")
    assert fault.steps(ACME)[0][:3] == ["set", "env", "deploy/acme-dagster-dagster-user-deployments-acme-demo"]
    assert fault.settled(ACME) == ["deploy/acme-dagster-dagster-user-deployments-acme-demo"]
    marquez = load_injection("marquez-bad-arguments")
    assert marquez.settled(ACME) == []  # its rollout stays stuck while the fault holds: not waited for
    assert marquez.settled(ACME, undo=True) == ["deploy/acme-infra-marquez"]  # undone: the lab comes to rest


def test_the_targets_steps_change_the_token_and_restore_the_file_exactly(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    original = "namespace: floe\nkubernetes:\n  mode: url\n  url: http://127.0.0.1:1234\n  token: s3cr3t\n"
    targets.write_text(original)
    targets.chmod(0o600)
    fault = load_injection("cluster-api-token-refused")
    make(fault, tmp_path)
    assert yaml.safe_load(targets.read_text())["kubernetes"] == {
        "mode": "url", "url": "http://127.0.0.1:1234", "token": "expired-or-revoked-token"}  # fmt: skip
    backups = list(tmp_path.glob("targets.yaml.before-*"))
    assert [stat.S_IMODE(b.stat().st_mode) for b in backups] == [0o600]  # it holds the token
    make(fault, tmp_path, undo=True)
    assert targets.read_text() == original
    assert list(tmp_path.glob("targets.yaml.before-*")) == []
