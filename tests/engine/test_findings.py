"""Findings are frozen, typed by code, and redacted as they are built."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from floe_agents.findings import CannotObserveError, Code, Finding, Status, worst_status
from floe_agents.redact import REDACTED, EvidenceKeys, Redactor, is_secret_key, redact_text


def make(**kw: object) -> Finding:
    base: dict[str, object] = {
        "component": "polaris",
        "check": "oauth",
        "status": "fail",
        "code": Code.HTTP_AUTH_FAILED,
        "summary": "s",
    }
    return Finding.model_validate({**base, **kw})


def test_findings_are_frozen() -> None:
    f = make()
    with pytest.raises(ValidationError):
        f.status = Status.OK  # type: ignore[misc]


def test_codes_are_builtin_or_namespaced_never_free_text() -> None:
    assert make(code="http.auth_failed").code == Code.HTTP_AUTH_FAILED
    assert make(code="acme.widget_broken").code == "acme.widget_broken"
    for bad in ("it broke", "broken", "Acme.Thing", ""):
        with pytest.raises(ValidationError):
            make(code=bad)


def test_secret_evidence_is_redacted_on_construction() -> None:
    f = make(
        evidence={
            "client_secret": "s3cr3t-value",
            "password": "hunter22",
            "Authorization": "Bearer abc.def.ghi",
            "client_id": "demo_client",
            "secret_name": "floe-dagster-postgresql-secret",
            "url": "postgresql://postgres:pgpass99@floe-infra-postgresql:5432/dagster",
            "nested": {"aws_secret_access_key": "wJalrXUtnFEMI", "message": "login failed: password=hunter22 rejected"},
            "items": [{"token": "t0k3n-xyz"}],
        }
    )
    ev = f.evidence
    assert ev["client_secret"] == REDACTED and ev["password"] == REDACTED and ev["Authorization"] == REDACTED
    assert ev["client_id"] == "demo_client" and ev["secret_name"] == "floe-dagster-postgresql-secret"
    assert "pgpass99" not in ev["url"] and "postgres:" in ev["url"]
    assert ev["nested"]["aws_secret_access_key"] == REDACTED
    assert "hunter22" not in ev["nested"]["message"]
    assert ev["items"][0]["token"] == REDACTED
    assert "hunter22" not in f.model_dump_json() and "s3cr3t-value" not in f.model_dump_json()


def test_redactor_scrubs_known_values_anywhere_in_text() -> None:
    r = Redactor.of(["canary-7f3a9", None, "abc"])  # too-short values are ignored, None skipped
    assert r("error: client canary-7f3a9 rejected") == f"error: client {REDACTED} rejected"
    assert "abc" in r("abc")
    assert "Bearer " + REDACTED in redact_text("Authorization: Bearer eyJhbGciOi.payload.sig")


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("login failed: password=hunter22", "login failed: password=" + REDACTED),
        ("client_secret: 'abc123'", "client_secret: '" + REDACTED + "'"),
        ("secret_name=floe-dagster-postgresql-secret", None),  # names a Secret, carries none
        ("secret_name=`floe-dagster-postgresql-secret`", None),  # as the Markdown report writes evidence
        ("secret/floe-dagster-postgresql-secret/postgresql-password", None),
        ("--from-literal=postgresql-password=<value>.", None),  # a placeholder in a fix step
        ("--from-literal=postgresql-password=<Value1>", "--from-literal=postgresql-password=" + REDACTED),
    ],
)
def test_secret_looking_pairs_in_text(text: str, masked: str | None) -> None:
    assert redact_text(text) == (masked or text)


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("POLARIS_CLIENT_SECRET", True),
        ("aws-secret-access-key", True),
        ("api_key", True),
        ("secret_name", False),
        ("client_id", False),
        ("token_url", False),
        ("secret_names", False),  # probe-declared keys: tests/engine/test_registry.py
        ("host", False),
        ("status_code", False),
    ],
)
def test_secret_key_detection(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_worst_status_orders_fail_over_warn_over_unknown_over_ok() -> None:
    assert worst_status([]) is Status.OK
    assert worst_status([Status.OK, Status.UNKNOWN]) is Status.UNKNOWN
    assert worst_status([Status.UNKNOWN, Status.WARN]) is Status.WARN
    assert worst_status([Status.WARN, Status.FAIL, Status.OK]) is Status.FAIL


def test_a_finding_names_its_key_producers_and_problem() -> None:
    f = make(subject="host", vantage="cluster", evidence={"produced_by": ["dagster", "cube"]})
    assert f.key == "polaris/oauth/host@cluster"
    assert f.producers == ("dagster", "cube")
    assert make(evidence={"produced_by": "dagster"}).producers == ()  # a list or nothing
    assert make().producers == ()
    assert make().is_problem and make(status="warn").is_problem and make(status="unknown").is_problem
    assert not make(status="ok").is_problem
    assert make().vantage == "local" and make().subject == "" and make().follow_up_of is None


def test_duration_is_never_negative() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert make(started_at=t0, finished_at=t0 + timedelta(seconds=1.5)).duration_s == 1.5
    assert make(started_at=t0 + timedelta(seconds=2), finished_at=t0).duration_s == 0.0


def test_codes_and_evidence_of_the_wrong_type_are_refused() -> None:
    with pytest.raises((TypeError, ValidationError), match="finding code must be a string, got int"):
        make(code=7)
    with pytest.raises((TypeError, ValidationError), match="evidence must be a mapping, got list"):
        make(evidence=["a"])
    with pytest.raises(ValidationError, match="neither a built-in Code nor a namespaced"):
        make(code="acme")
    assert make(code=Code.TCP_OPEN).code == "tcp.open"
    assert make(code="a.b.c-d_e").code == "a.b.c-d_e"


def test_declared_evidence_keys_apply_when_the_probe_builds_the_finding() -> None:
    base = {"component": "c", "check": "k", "status": "ok", "code": "check.ok", "summary": "s"}
    declared = EvidenceKeys.of(public=("token_type",), secret=("dsn",))
    f = Finding.model_validate({**base, "evidence": {"token_type": "bearer", "dsn": "x"}}, context=declared)
    assert dict(f.evidence) == {"token_type": "bearer", "dsn": REDACTED}
    g = Finding.model_validate({**base, "evidence": {"token_type": "bearer", "dsn": "x"}}, context="other")
    assert dict(g.evidence) == {"token_type": REDACTED, "dsn": "x"}


def test_status_ranks_and_severity_order() -> None:
    assert [s.rank for s in (Status.OK, Status.UNKNOWN, Status.WARN, Status.FAIL)] == [0, 1, 2, 3]
    assert worst_status([Status.FAIL, Status.WARN]) is Status.FAIL
    assert worst_status(iter([Status.UNKNOWN, Status.OK])) is Status.UNKNOWN


def test_cannot_observe_carries_its_answer() -> None:
    exc = CannotObserveError("acme.blind", "cannot see", subject="s", evidence={"k": 1})
    assert (exc.code, exc.summary, exc.subject, exc.evidence, str(exc)) == (
        "acme.blind",
        "cannot see",
        "s",
        {"k": 1},
        "cannot see",
    )
    bare = CannotObserveError("acme.blind", "x")
    assert bare.subject == "" and bare.evidence == {}
