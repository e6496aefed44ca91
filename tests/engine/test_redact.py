"""Redaction: generic shape rules, plus the evidence keys each probe declares (secret, or public though
secret-looking). The engine keeps no list of probe evidence keys."""

from __future__ import annotations

import pytest

from floe_agents.redact import REDACTED, EvidenceKeys, Redactor, is_secret_key, redact_evidence, redact_text
from floe_agents.registry import Registry

DECLARED = EvidenceKeys.of(public=("token_type", "Missing_Secrets"), secret=("dsn",))


@pytest.mark.parametrize(
    ("key", "generic", "declared"),
    [
        ("token_type", True, False),  # looks secret by name; declared public
        ("missing_secrets", True, False),  # declared case-insensitively
        ("dsn", False, True),  # innocent by name; declared secret
        ("client_secret", True, True),
        ("secret_name", False, False),  # the generic suffix rules stay
        ("secretName", False, False),  # Kubernetes' spelling
        ("token_endpoint", False, False),
    ],
)
def test_declared_keys_override_the_shape_rules(key: str, generic: bool, declared: bool) -> None:
    assert is_secret_key(key) is generic
    assert is_secret_key(key, DECLARED) is declared


def test_evidence_and_text_are_redacted_with_the_declared_keys() -> None:
    evidence = {"dsn": "postgresql://u@h/db", "token_type": "bearer", "nested": {"dsn": "x"}}
    assert redact_evidence(evidence, DECLARED) == {
        "dsn": REDACTED,
        "token_type": "bearer",
        "nested": {"dsn": REDACTED},
    }
    assert redact_evidence(evidence)["token_type"] == REDACTED
    assert redact_text("token_type=`bearer`", DECLARED) == "token_type=`bearer`"
    assert redact_text("token_type=`bearer`") == f"token_type={REDACTED}"


def test_a_redactor_carries_the_keys_of_every_installed_probe() -> None:
    keys = Registry.from_entry_points().declarations().all_evidence_keys
    redactor = Redactor.of(["hunter22"], keys)
    for key in ("missing_secrets", "secret_keys", "token_type", "credential_mode"):  # once a list in redact.py
        assert f"{key}=`x`" in redactor(f"{key}=`x`")
    assert redactor("password=hunter22 and hunter22") == f"password={REDACTED} and {REDACTED}"
    assert Redactor.of(["abcd"]).merged(redactor).keys == keys
