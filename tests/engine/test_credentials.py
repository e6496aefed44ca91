"""A third-party probe's credential: declared on the probe, found in the targets file or the environment, and
redacted from the report wherever it came from (the engine holds no list of credential names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_agents.config import load_targets
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.registry import Credential, Registry, probe
from floe_agents.report import render_json, render_markdown
from floe_agents.rules import builtin_rules
from floe_agents.swarm import Plan, investigate

FROM_FILE, FROM_ENV = "acme-file-token-7f3a", "acme-env-token-9c1d"


@probe(
    "acme",
    components=("acme",),
    codes={"acme.logged_in": "ok: Acme accepted the token", "acme.no_token": "unknown: no token"},
    credentials=(Credential("acme_token", env="ACME_TOKEN"), Credential("acme_user", default="ops", secret=False)),
)
async def acme(ctx: ProbeContext) -> list[Finding]:
    token, user = ctx.credential("acme_token"), ctx.credential("acme_user")
    if token is None:
        return [ctx.finding(Status.UNKNOWN, "acme.no_token", "no Acme token")]
    # A careless probe: the token in the summary and under an innocent evidence key.
    summary = f"Acme accepted {user} with token {token}"
    return [ctx.finding(Status.OK, "acme.logged_in", summary, evidence={"echo": token, "user": user})]


async def _reports(targets_yaml: str, tmp_path: Path) -> tuple[Finding, str]:
    (tmp_path / "targets.yaml").write_text(targets_yaml)
    plan = Plan(
        targets=load_targets(tmp_path / "targets.yaml"),
        registry=Registry.of([acme]),
        rules=builtin_rules(),
        only=frozenset({"acme"}),
    )
    result = await investigate(plan)
    (found,) = result.analysis.findings
    redactor = plan.redactor()
    return found, render_json(result.report, redactor) + render_markdown(result.report, redactor)


async def test_a_probes_own_credential_comes_from_the_targets_file_and_never_reaches_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACME_TOKEN", raising=False)
    found, text = await _reports(f"components: {{acme: {{}}}}\ncredentials: {{acme_token: {FROM_FILE}}}\n", tmp_path)
    assert found.code == "acme.logged_in" and FROM_FILE in found.summary  # the probe got it
    assert FROM_FILE not in text
    assert "Acme accepted ops with token" in text  # acme_user is declared not secret: left alone


async def test_a_probes_own_credential_comes_from_its_env_var_and_never_reaches_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_TOKEN", FROM_ENV)
    found, text = await _reports("components: {acme: {}}\n", tmp_path)
    assert found.code == "acme.logged_in" and FROM_ENV in found.summary
    assert FROM_ENV not in text


async def test_without_the_credential_the_probe_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_TOKEN", raising=False)
    found, _ = await _reports("components: {acme: {}}\n", tmp_path)
    assert found.code == "acme.no_token"


def test_existing_targets_files_keep_their_credential_keys(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "credentials:\n  polaris_client_id: demo\n  polaris_client_secret: s3cr3t-value\n  postgres_user: floe\n"
    )
    targets = load_targets(tmp_path / "t.yaml")
    assert targets.credentials.written()["polaris_client_secret"] == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(targets)
    declarations = Registry.from_entry_points().declarations()
    redactor = declarations.redactor(targets, None)
    assert "s3cr3t-value" in redactor.secrets
    assert not {"demo", "floe"} & redactor.secrets  # the client id and the user are declared not secret
