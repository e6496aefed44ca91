"""Secret redaction, applied by default wherever output goes.

Two layers, because neither alone is enough at 3 a.m.:

* **By shape** (:func:`redact_evidence`, used by every ``Finding``): values under secret-looking keys
  (password, secret, token, authorization, credential, private key, access key, ...) are replaced, and passwords
  embedded in URLs (``scheme://user:pass@host``) or ``key=value`` pairs inside text are masked. The shape rules
  are generic; what only a probe knows arrives as :class:`EvidenceKeys` from its declaration: keys that look
  secret but never carry one (``token_type``), and keys that always do whatever their name (``dsn``).
* **By value** (:class:`Redactor`): the concrete secret strings the run knows (client secrets, passwords from
  the platform config and targets) are scrubbed from any text before it is written — this catches a secret that
  surfaced inside an error message under an innocent key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GENERIC", "REDACTED", "EvidenceKeys", "Redactor", "is_secret_key", "redact_evidence", "redact_text"]

REDACTED = "***REDACTED***"

_SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token|authorization|credential|private[_-]?key|access[_-]?key|api[_-]?key|"
    r"session[_-]?key|cookie|signature|\bpwd\b)",
    re.IGNORECASE,
)
# Keys that look secret by the pattern above but, whoever writes them, only name a secret or where to get one.
# (Most such keys are caught by their suffix: ``_name``, ``_id``, ``_ref``, ``_url`` ...; see is_secret_key.)
_NAMING_KEYS = frozenset({"secretname", "secretref", "token_endpoint"})
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]+):(?P<pw>[^@/\s]+)@")
_KV_IN_TEXT = re.compile(
    r"(?P<k>\b[\w.-]*(?:password|secret|token|passwd|pwd)[\w.-]*\s*[=:]\s*)(?P<q>['\"]?)(?P<v>[^\s'\",;&]+)",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"<[a-z][a-z-]*>[.)]*$")
_BEARER = re.compile(r"(?P<k>\b(?:Bearer|Basic)\s+)(?P<v>[A-Za-z0-9._~+/=-]{8,})")


@dataclass(frozen=True, slots=True)
class EvidenceKeys:
    """Evidence keys a probe declares: ``public`` look secret by name but never carry a secret (``token_type``);
    ``secret`` always carry one, whatever their name. Compared lower-cased, like the shape rules."""

    public: frozenset[str] = frozenset()
    secret: frozenset[str] = frozenset()

    @classmethod
    def of(cls, public: Iterable[str] = (), secret: Iterable[str] = ()) -> EvidenceKeys:
        return cls(frozenset(k.lower() for k in public), frozenset(k.lower() for k in secret))

    def merged(self, other: EvidenceKeys) -> EvidenceKeys:
        return EvidenceKeys(self.public | other.public, self.secret | other.secret)


GENERIC = EvidenceKeys()  # the shape rules alone


def is_secret_key(key: str, keys: EvidenceKeys = GENERIC) -> bool:
    """Whether a mapping key names a secret value (``client_secret`` yes, ``secret_name`` no)."""
    lowered = key.lower()
    if lowered in keys.secret:
        return True
    if lowered in keys.public or lowered in _NAMING_KEYS:
        return False
    if lowered.endswith(("_name", "_names", "_ref", "_env", "_id", "_url", "_path")):
        return False
    return bool(_SECRET_KEY.search(key))


def redact_text(text: str, keys: EvidenceKeys = GENERIC) -> str:
    """Mask secrets recognisable by shape inside free text (URL passwords, ``password=...``, bearer tokens)."""

    def mask_pair(m: re.Match[str]) -> str:
        key = m["k"].rstrip(" =:\t").strip("`*_ ")
        if not is_secret_key(key, keys):  # ``secret_name=floe-secret`` names a Secret; it does not carry one
            return m[0]
        if _PLACEHOLDER.match(m["v"]):  # a fix step's ``--from-literal=postgresql-password=<value>``: no value yet
            return m[0]
        return f"{m['k']}{m['q']}{REDACTED}"

    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{REDACTED}@", text)
    text = _KV_IN_TEXT.sub(mask_pair, text)
    return _BEARER.sub(lambda m: f"{m['k']}{REDACTED}", text)


def _redact_value(value: Any, keys: EvidenceKeys) -> Any:
    if isinstance(value, str):
        return redact_text(value, keys)
    if isinstance(value, Mapping):
        return redact_evidence(value, keys)
    if isinstance(value, list | tuple):
        return [_redact_value(v, keys) for v in value]
    return value


def redact_evidence(evidence: Mapping[str, Any], keys: EvidenceKeys = GENERIC) -> dict[str, Any]:
    """A redacted copy of ``evidence``: secret-keyed values replaced, secrets inside text masked, recursively."""
    out: dict[str, Any] = {}
    for key, value in evidence.items():
        skey = str(key)
        if is_secret_key(skey, keys) and value not in (None, "", [], {}) and not isinstance(value, bool):
            out[skey] = REDACTED
        else:
            out[skey] = _redact_value(value, keys)
    return out


# A known secret value is masked only where it stands whole, so that masking never corrupts other text (the lab's
# S3 key ``test`` once turned every "latest" into "la***REDACTED***"):
# * a secret that could be a word of a sentence (letters only, shorter than ``_WORD_MAX``: ``test``, ``floe``,
#   ``password``) only as a value: the whole text, quoted (``"test"``), or right after ``=`` / ``:`` and ending
#   the value (``key=test``, ``key: test``); never as a word in prose, nor inside another value (``test-bucket``);
# * any other secret wherever it stands as a token: its word-character edges are not next to another word
#   character (``s3cr3t`` in ``refused with s3cr3t,`` or ``x://u:s3cr3t@h``, never in ``xs3cr3t``);
# * a value shorter than ``_SECRET_MIN`` characters is not masked at all (it would mask innocent values).
_SECRET_MIN = 4
_WORD_MAX = 12
_VALUE_BEFORE = r"""(?:(?<=[=:])|(?<=[=:][ \t])|(?<=["'`]))"""
_VALUE_AFTER = r"""(?=$|[\s"'`,;&)\]}])"""


def _edge(secret: str, left: bool) -> str:
    char = secret[0] if left else secret[-1]
    if not re.match(r"\w", char):
        return ""
    return r"(?<!\w)" if left else r"(?!\w)"


def _is_word(secret: str) -> bool:
    return secret.isalpha() and len(secret) < _WORD_MAX


def _secret_pattern(secrets: Iterable[str]) -> re.Pattern[str] | None:
    # Longest first, so a secret that contains another is replaced whole (the alternation tries them in order).
    alternatives = []
    for secret in sorted(secrets, key=lambda s: (-len(s), s)):
        body = re.escape(secret)
        if not _is_word(secret):
            alternatives.append(f"{_edge(secret, True)}{body}{_edge(secret, False)}")
        else:
            alternatives.append(f"(?:^|{_VALUE_BEFORE}){body}{_VALUE_AFTER}")
    return re.compile("|".join(alternatives)) if alternatives else None


@dataclass(frozen=True)
class Redactor:
    """Scrubs the concrete secret values a run knows about from any text about to leave the process, wherever
    such a value stands whole (see ``_WORD_MAX``): never a part of another word."""

    secrets: frozenset[str] = field(default_factory=frozenset)
    keys: EvidenceKeys = GENERIC  # every installed probe's declared evidence keys (the text names no probe)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pattern", _secret_pattern(self.secrets))

    @classmethod
    def of(cls, values: Iterable[str | None], keys: EvidenceKeys = GENERIC) -> Redactor:
        # Very short values would mask innocent values (``1``, ``on``); they are also not worth much as secrets.
        return cls(frozenset(v for v in values if v and len(v) >= _SECRET_MIN), keys)

    def __call__(self, text: str) -> str:
        text = redact_text(text, self.keys)
        if self._pattern is None:
            return text
        if text.strip() in self.secrets:  # the whole value, whatever its length
            return REDACTED
        return self._pattern.sub(REDACTED, text)

    def merged(self, other: Redactor) -> Redactor:
        return Redactor(self.secrets | other.secrets, self.keys.merged(other.keys))
