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


# --- finding 7: a known secret is masked only where it stands whole ------------------------------------------------

SHORT = "test"  # the lab's S3 secret key: a word
LONG = "s3cr3t-Value-42"
WORDLIKE = "pipeline"  # a longer secret that is also an ordinary word
TOKEN = "pw12"  # short, but no word


@pytest.mark.parametrize(
    "text",
    [
        "latest demo_pipeline run succeeded",  # once "la***REDACTED*** demo_pipeline run"
        "the test failed",  # a short secret as a word in prose is not a value
        "bucket=test-bucket",  # nor as part of another value
        "s3://test-bucket/warehouse",
        "attestation: contested",
        "demo_pipeline pipelines",  # a word-like long secret inside other words
        "xs3cr3t-Value-42 s3cr3t-Value-42x s3cr3t-Value-42_1",
    ],
)
def test_masking_never_corrupts_other_text(text: str) -> None:
    assert Redactor.of([SHORT, LONG, WORDLIKE])(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("test", REDACTED),  # the whole value
        ("  test\n", REDACTED),
        ("key=test", f"key={REDACTED}"),
        ("key: test", f"key: {REDACTED}"),
        ("AWS_KEY=test&region=us", f"AWS_KEY={REDACTED}&region=us"),
        ('{"aws": "test", "n": 1}', f'{{"aws": "{REDACTED}", "n": 1}}'),
        ("'test'", f"'{REDACTED}'"),
        ("https://h/s3?k=test", f"https://h/s3?k={REDACTED}"),
        ("s3://user:test@host/b", f"s3://user:{REDACTED}@host/b"),
        # a long secret wherever it stands as a token
        (f"login with {LONG} failed", f"login with {REDACTED} failed"),
        (f"https://u:{LONG}@host/x", f"https://u:{REDACTED}@host/x"),
        (f'{{"k": "{LONG}"}}', f'{{"k": "{REDACTED}"}}'),
        (f"creds=root,{LONG};", f"creds=root,{REDACTED};"),
        (f"({LONG})", f"({REDACTED})"),
        ("run pipeline now", "run pipeline now"),  # a word is masked only as a value
        ("run=pipeline", f"run={REDACTED}"),
        ("refused with pw12, retrying", f"refused with {REDACTED}, retrying"),  # no word: masked as a token
        ("pw12", REDACTED),
        ("pw123 xpw12 pw12_a", "pw123 xpw12 pw12_a"),
        ("correcthorsebatterystaple in a sentence", f"{REDACTED} in a sentence"),  # too long to be a word
    ],
)
def test_a_known_secret_is_masked_wherever_it_stands_as_a_value(text: str, expected: str) -> None:
    assert Redactor.of([SHORT, LONG, WORDLIKE, TOKEN, "correcthorsebatterystaple"])(text) == expected


def test_four_character_secrets_are_scrubbed_shorter_ones_are_not() -> None:
    assert Redactor.of(["abcd"])("password is: abcd") == f"password is: {REDACTED}"
    assert Redactor.of(["ab12"])("got ab12 back") == f"got {REDACTED} back"
    assert Redactor.of(["abcd"]).secrets == frozenset({"abcd"})
    assert Redactor.of(["abc", None, ""]).secrets == frozenset()
    assert Redactor.of(["abc"])("abc") == "abc"


def test_a_secret_that_contains_another_is_scrubbed_whole() -> None:
    redactor = Redactor.of(["abcd1234", "abcd1234efgh", "1234efgh"])
    assert redactor("k=abcd1234efgh") == f"k={REDACTED}"
    assert redactor("a abcd1234efgh b abcd1234 c") == f"a {REDACTED} b {REDACTED} c"
    assert redactor("abcd1234efgh") == REDACTED
    short = Redactor.of(["pass", "passwd"])
    assert short("x=passwd") == f"x={REDACTED}"


def test_masking_is_one_pass_over_the_text() -> None:
    # A secret that matches the marker itself does not re-mask what was already masked.
    redactor = Redactor.of(["REDACTED", "hunter2222"])
    assert redactor("hunter2222") == REDACTED
    assert redactor("x hunter2222 y") == f"x {REDACTED} y"


def test_an_empty_redactor_only_applies_the_shape_rules() -> None:
    assert Redactor()("password=hunter22 and latest") == f"password={REDACTED} and latest"


# --- finding 16: the shape rules each have a test ------------------------------------------------------------------


def test_basic_and_bearer_authorization_values_are_masked() -> None:
    assert redact_text("Authorization: Basic dXNlcjpwYXNzd29yZA==") == f"Authorization: Basic {REDACTED}"
    assert redact_text("header Bearer eyJhbGciOi.x.y rest") == f"header Bearer {REDACTED} rest"
    assert redact_text("Basic short") == "Basic short"  # too short to be a credential


@pytest.mark.parametrize(
    "key",
    ["cookie", "Set-Cookie", "session_key", "api-key", "private_key", "access-key", "pwd", "signature", "passwd"],
)
def test_secret_looking_keys_are_dropped(key: str) -> None:
    assert is_secret_key(key)
    assert redact_evidence({key: "v"}) == {key: REDACTED}


@pytest.mark.parametrize(
    "key",
    [
        "secret_name",
        "secret_names",
        "token_ref",
        "password_env",
        "client_secret_id",
        "token_url",
        "password_path",
        "secretRef",
        "pipeline",
    ],
)
def test_keys_that_only_name_a_secret_are_not_redacted(key: str) -> None:
    assert not is_secret_key(key)
    assert redact_evidence({key: "v"}) == {key: "v"}


def test_empty_and_boolean_secret_values_are_kept() -> None:
    evidence: dict[str, object] = {"password": "", "token": None, "secret": False, "credentials": [], "cookie": {}}
    assert redact_evidence(evidence) == evidence
    assert redact_evidence({"items": [{"token": "x"}, "password=abc"], "t": ("a",)}) == {
        "items": [{"token": REDACTED}, f"password={REDACTED}"],
        "t": ["a"],
    }


def test_text_pairs_name_a_secret_or_a_placeholder() -> None:
    assert redact_text("secret_name=floe-secret") == "secret_name=floe-secret"
    assert redact_text("--from-literal=postgresql-password=<value>") == "--from-literal=postgresql-password=<value>"
    assert redact_text("db_password: 'hunter2'") == f"db_password: '{REDACTED}'"
    assert redact_text("https://admin:pw@h/x") == f"https://admin:{REDACTED}@h/x"


def test_shape_rule_bounds() -> None:
    assert redact_text("Bearer abcdefgh") == f"Bearer {REDACTED}"  # eight characters are a credential
    assert redact_text("Bearer abcdefg") == "Bearer abcdefg"
    assert redact_text("db-password=<value>s3cr3t") == f"db-password={REDACTED}"  # not a placeholder: more follows


def test_a_secret_edge_that_is_no_word_character_needs_no_boundary() -> None:
    assert Redactor.of(["-abc1234"])("x-abc1234 y") == f"x{REDACTED} y"
    assert Redactor.of(["abc1234-"])("y abc1234-x") == f"y {REDACTED}x"
    assert Redactor.of(["abc1234-"])("yabc1234-x") == "yabc1234-x"
    assert Redactor.of(["-abc1234"])("x-abc1234y") == "x-abc1234y"
