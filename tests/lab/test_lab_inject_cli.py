"""``floe-agents lab injections`` and ``lab inject``: the list says where each fault's root cause must be, and a
name that is no injection or a lab that is not running ends with one line and exit 2, before kubectl is called.
Injecting into a running lab is tests/lab/test_fault_classes.py (the same ``make`` the command calls)."""

from __future__ import annotations

from pathlib import Path

from floe_lab.injections import injection_names, load_injection
from tests.support.lab import cli


def test_the_list_names_every_injection_with_its_class_and_where_its_cause_must_be() -> None:
    done = cli("lab", "injections")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == injection_names()
    fault = load_injection("daemon-permission-denied")
    [line] = [line for line in lines if line.startswith(fault.name)]
    assert line.split()[1:] == [fault.fault_class, "workload-permission-denied", "on", "dagster-daemon"]


def test_an_unknown_name_or_no_lab_is_one_line_and_exit_2(tmp_path: Path) -> None:
    unknown = cli("lab", "inject", "no-such-fault", "--state", str(tmp_path))
    assert unknown.returncode == 2
    assert "unknown injection 'no-such-fault'" in unknown.stderr and "Traceback" not in unknown.stderr
    no_lab = cli("lab", "inject", "cube-image-pull", "--state", str(tmp_path))
    assert no_lab.returncode == 2
    assert no_lab.stderr.strip().splitlines() == [f"floe-agents: no lab running in {tmp_path} (start one with "
                                                  "`floe-agents lab up`)"]  # fmt: skip
