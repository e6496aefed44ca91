"""The real `floe-agents` executable on what probes declare: the `probes` listing, and rules naming unknown codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("floe-agents"))
LIMIT_S = 120  # a cold start imports every probe; a busy 2-core machine makes that slow


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=LIMIT_S, check=False)


def test_probes_lists_every_probes_codes_with_their_meaning_and_its_credentials() -> None:
    result = run("probes")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in ("dns", "tcp", "http_health", "resolve_everywhere", "polaris", "postgres"):
        assert name in out
    assert "polaris.warehouse_missing" in out and "Unable to find warehouse W" in out  # code and meaning
    assert "tcp.refused" in out and "the connection was refused" in out  # a probe emitting the engine's codes
    assert "postgres_password" in out and "DAGSTER_PG_PASSWORD" in out  # a credential and its env var
    assert "PRINCIPAL_ROLE:ALL" in out  # a credential's default
    assert max(len(line) for line in out.splitlines()) <= 200  # readable without a terminal


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ("cause: {codes: [tcp.refsued]}", "tcp.refsued"),  # a typo in the cause
        ("cause: {codes: [tcp.refused]}\n    symptoms: {not_codes: ['htp.*']}", "htp.*"),  # a glob nothing matches
        (
            "cause: {codes: [tcp.refused]}\n    requires: [{codes: [polaris.no_such_thing]}]",
            "polaris.no_such_thing",
        ),
        (
            "cause: {codes: [tcp.refused]}\n    linked: [{codes: [acme.down], key: host, cause_key: host}]",
            "acme.down",
        ),
    ],
)
def test_a_rule_naming_an_undeclared_code_is_one_error_line_naming_file_rule_and_code(
    tmp_path: Path, rule: str, code: str
) -> None:
    rules = tmp_path / "mine.yaml"
    rules.write_text(f"rules:\n  - id: my-rule\n    title: t\n    {rule}\n")
    result = run("investigate", "--rules", str(rules), "--only", "s3")
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"floe-agents: error: {rules}: rule my-rule: ")
    assert repr(code) in lines[0]
