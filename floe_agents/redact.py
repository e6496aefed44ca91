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


@dataclass(frozen=True)
class Redactor:
    """Scrubs the concrete secret values a run knows about from any text about to leave the process."""

    secrets: frozenset[str] = field(default_factory=frozenset)
    keys: EvidenceKeys = GENERIC  # every installed probe's declared evidence keys (the text names no probe)

    @classmethod
    def of(cls, values: Iterable[str | None], keys: EvidenceKeys = GENERIC) -> Redactor:
        # Very short values would mangle unrelated text; they are also not worth much as secrets.
        return cls(frozenset(v for v in values if v and len(v) >= 4), keys)

    def __call__(self, text: str) -> str:
        text = redact_text(text, self.keys)
        # Longest first, so a secret that contains another is replaced whole.
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def merged(self, other: Redactor) -> Redactor:
        return Redactor(self.secrets | other.secrets, self.keys.merged(other.keys))
