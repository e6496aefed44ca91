"""`floe-agents heal` refuses to change anything it cannot ask about, and says so in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXE = str(Path(sys.executable).with_name("floe-agents"))


def test_heal_without_a_terminal_and_without_yes_refuses_before_reading_anything(tmp_path: Path) -> None:
    targets = tmp_path / "missing.yaml"  # not even read: the refusal comes first
    result = subprocess.run(
        [EXE, "heal", "--target", str(targets)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("floe-agents: error: heal changes the platform") and "--yes" in line


def test_a_broken_playbook_folder_is_a_usage_error_before_anything_runs(tmp_path: Path) -> None:
    books = tmp_path / "books"
    books.mkdir()
    (books / "bad.yaml").write_text("name: other\ndescription: d\nfixes: [x]\nsteps: [{remediation: a.b}]\n")
    targets = tmp_path / "targets.yaml"
    targets.write_text("vantage: local\nvantages: {local: {}}\n")
    result = subprocess.run(
        [EXE, "heal", "--dry-run", "--playbooks", str(books), "--target", str(targets)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"floe-agents: error: {books / 'bad.yaml'}") and "must match the file name" in line
