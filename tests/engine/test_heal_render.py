"""The heal report as people and CI read it: the plan action by action, changes with the state before, health
before and after — and never a secret, even one a remediation let into a body."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from floe_agents.findings import Status
from floe_agents.heal.model import AppliedFix, FixPlan, HealReport, PlannedAction
from floe_agents.heal.render import render_heal_json, render_heal_markdown
from floe_agents.redact import Redactor
from floe_agents.remediation import Action, Change

SECRET = "s3cr3t-Value-42"


def report() -> HealReport:
    action = Action(
        kind="kubernetes", verb="create", target="Secret floe/pg", summary="create it",
        body={"data": {"password": SECRET}}, undo="kubectl -n floe delete secret pg",
    )  # fmt: skip
    plan = (
        FixPlan(
            cause="missing-secret", title="Missing Secret (pg)", component="dagster-daemon", kind="automatic",
            playbook="create-missing-secret", phase="secrets", risk="low",
            actions=(PlannedAction(remediation="k8s.create_secret", action=action),), verify=("kubernetes",),
        ),
        FixPlan(
            cause="host-down", title="Nothing answers", component="kubernetes", kind="manual",
            manual=("Is the cluster running?",), reason="no playbook answers this cause: it needs a person",
        ),
    )  # fmt: skip
    applied = (AppliedFix(cause="missing-secret", playbook="create-missing-secret", verified=True, seconds=1.5,
                          changes=(Change(action=action, before=None, after={"password": SECRET}),)),)  # fmt: skip
    return HealReport(
        generated_at=datetime(2026, 12, 4, tzinfo=UTC), mode="apply", namespace="floe", outcome="manual-steps-remain",
        exit_code=1, before={"dagster-daemon": Status.FAIL}, after={"dagster-daemon": Status.OK},
        causes_before=("missing-secret", "host-down"), causes_after=("host-down",), plan=plan, applied=applied,
    )  # fmt: skip


def test_markdown_shows_the_plan_the_changes_and_health_and_no_secret() -> None:
    text = render_heal_markdown(report(), Redactor.of([SECRET]))
    assert text.startswith("# floe-agents heal: manual steps remain: what could be fixed safely was\n")
    assert "Root causes after: host-down." in text
    assert "1. **create** `Secret floe/pg` — create it (`k8s.create_secret`)" in text
    assert "   Undo: kubectl -n floe delete secret pg" in text
    assert "Why: no playbook answers this cause: it needs a person" in text and "- Is the cluster running?" in text
    assert "### `create-missing-secret` for `missing-secret` — verified (1.5s)" in text
    assert "| dagster-daemon | fail | ok |" in text
    assert SECRET not in text


def test_json_is_the_model_scrubbed() -> None:
    doc = json.loads(render_heal_json(report(), Redactor.of([SECRET])))
    assert doc["outcome"] == "manual-steps-remain" and doc["exit_code"] == 1
    assert [p["kind"] for p in doc["plan"]] == ["automatic", "manual"]
    assert doc["applied"][0]["verified"] is True
    assert SECRET not in json.dumps(doc)
