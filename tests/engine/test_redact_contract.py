"""Redaction's contract, pinned where mutation testing found it loose: merging keeps everything both sides know,
a probe's declared keys hold inside nested text too, only Markdown decoration is stripped from a key, the word
rule stops at 12 letters, and a secret containing another is masked whole."""

from __future__ import annotations

from floe_agents.redact import REDACTED, EvidenceKeys, Redactor, redact_evidence, redact_text


def test_merged_evidence_keys_keep_both_sides_public_and_secret_keys() -> None:
    one = EvidenceKeys.of(public=["token_type"], secret=["dsn"])
    two = EvidenceKeys.of(public=["token_kind"], secret=["conn"])
    merged = one.merged(two)
    assert merged.public == {"token_type", "token_kind"}
    assert merged.secret == {"dsn", "conn"}
    assert redact_evidence({"dsn": "x", "conn": "y", "token_type": "bearer"}, merged) == {
        "dsn": REDACTED,
        "conn": REDACTED,
        "token_type": "bearer",
    }


def test_merged_redactors_scrub_the_secrets_of_both() -> None:
    merged = Redactor.of(["alpha-s3cret"]).merged(Redactor.of(["beta-s3cret"]))
    assert merged.secrets == {"alpha-s3cret", "beta-s3cret"}
    assert merged("a alpha-s3cret b beta-s3cret c") == f"a {REDACTED} b {REDACTED} c"


def test_declared_public_keys_hold_inside_nested_text() -> None:
    keys = EvidenceKeys.of(public=["token_type"])
    evidence = {"note": "token_type=bearer", "items": ["token_type=mac"], "inner": {"line": "token_type: dpop"}}
    assert redact_evidence(evidence, keys) == {
        "note": "token_type=bearer",
        "items": ["token_type=mac"],
        "inner": {"line": "token_type: dpop"},
    }
    assert redact_evidence(evidence) == {  # the shape rules alone: token_type looks secret
        "note": f"token_type={REDACTED}",
        "items": [f"token_type={REDACTED}"],
        "inner": {"line": f"token_type: {REDACTED}"},
    }


def test_markdown_underscores_around_a_key_do_not_change_what_it_names() -> None:
    assert redact_text("__token_endpoint__: https://idp/token") == "__token_endpoint__: https://idp/token"
    assert redact_text("_secretname_=floe-secret") == "_secretname_=floe-secret"
    assert redact_text("__password__=hunter22") == f"__password__={REDACTED}"


def test_letters_are_never_stripped_from_a_key() -> None:
    # ``secretname`` only names a Secret; ``Xsecretname`` / ``secretnameX`` are other keys, secret by their shape.
    assert redact_text("secretname=floe-secret") == "secretname=floe-secret"
    assert redact_text("Xsecretname=floe-secret") == f"Xsecretname={REDACTED}"
    assert redact_text("secretnameX=floe-secret") == f"secretnameX={REDACTED}"


def test_a_letters_only_secret_of_twelve_letters_is_masked_even_in_prose() -> None:
    twelve, eleven = "qwertyuiopas", "qwertyuiopa"
    assert Redactor.of([twelve])(f"refused {twelve} here") == f"refused {REDACTED} here"
    assert Redactor.of([eleven])(f"refused {eleven} here") == f"refused {eleven} here"  # could be a word
    assert Redactor.of([eleven])(f"key={eleven}") == f"key={REDACTED}"


def test_a_secret_that_contains_another_is_masked_whole() -> None:
    redactor = Redactor.of(["s3cr3t", "s3cr3t-extra"])
    assert redactor("auth s3cr3t-extra failed") == f"auth {REDACTED} failed"
    assert redactor("auth s3cr3t failed") == f"auth {REDACTED} failed"
