"""Request bodies in the Kubernetes protobuf encoding, for the kinds ``kubectl create <kind> NAME`` sends.

Why: since client-go 1.33 the typed clients send built-in objects as ``application/vnd.kubernetes.protobuf`` and do
not retry as JSON when refused, so ``kubectl create namespace``, ``kubectl create secret generic`` (how a person
fixes a missing Secret) and ``kubectl create configmap`` would fail with 415 against a JSON-only server. Answers
stay JSON: those clients accept it as their second choice. Manifests (``kubectl create -f``, ``apply``) are JSON.

The envelope is ``k8s\\x00`` then a ``runtime.Unknown`` (typeMeta, raw); ``raw`` is the object's message. Only the
messages of the kinds below are described (field numbers from ``k8s.io/api``'s ``generated.proto``); any other kind
is a 415 that names them. The Go marshaller writes every non-pointer field, empty or not, while JSON omits the
empty ones: empty non-pointer fields are dropped here so the object reads as the same manifest in JSON.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from floe_lab.kube import errors
from floe_lab.kube.errors import ApiError

__all__ = ["CONTENT_TYPE", "decode"]

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"


@dataclass(frozen=True)
class _F:
    """A field: its JSON name, its kind (a scalar, ``map``, ``bytesmap``, ``time`` or a message), and its shape."""

    name: str
    kind: str = "string"
    repeated: bool = False
    pointer: bool = False  # a Go pointer: written only when set, so kept even when empty


_MESSAGES: dict[str, dict[int, _F]] = {
    "ObjectMeta": {
        **{n: _F(name) for n, name in enumerate(("name", "generateName", "namespace", "selfLink", "uid"), 1)},
        6: _F("resourceVersion"),
        7: _F("generation", "int"),
        8: _F("creationTimestamp", "time"),
        9: _F("deletionTimestamp", "time", pointer=True),
        10: _F("deletionGracePeriodSeconds", "int", pointer=True),
        11: _F("labels", "map"),
        12: _F("annotations", "map"),
        13: _F("ownerReferences", "OwnerReference", repeated=True),
        14: _F("finalizers", repeated=True),
    },
    "OwnerReference": {
        1: _F("kind"),
        3: _F("name"),
        4: _F("uid"),
        5: _F("apiVersion"),
        6: _F("controller", "bool", pointer=True),
        7: _F("blockOwnerDeletion", "bool", pointer=True),
    },
    "ConfigMap": {
        1: _F("metadata", "ObjectMeta"),
        2: _F("data", "map"),
        3: _F("binaryData", "bytesmap"),
        4: _F("immutable", "bool", pointer=True),
    },
    "Secret": {
        1: _F("metadata", "ObjectMeta"),
        2: _F("data", "bytesmap"),
        3: _F("type"),
        4: _F("stringData", "map"),
        5: _F("immutable", "bool", pointer=True),
    },
    "Namespace": {1: _F("metadata", "ObjectMeta"), 2: _F("spec", "NamespaceSpec")},
    "NamespaceSpec": {1: _F("finalizers", repeated=True)},
    "ServiceAccount": {
        1: _F("metadata", "ObjectMeta"),
        2: _F("secrets", "ObjectReference", repeated=True),
        3: _F("imagePullSecrets", "LocalObjectReference", repeated=True),
        4: _F("automountServiceAccountToken", "bool", pointer=True),
    },
    "ObjectReference": {
        n: _F(name)
        for n, name in enumerate(("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"), 1)
    },
    "LocalObjectReference": {1: _F("name")},
    # What `kubectl create token` and `kubectl auth can-i | whoami` send (authentication/v1, authorization/v1).
    "TokenRequest": {1: _F("metadata", "ObjectMeta"), 2: _F("spec", "TokenRequestSpec")},
    "TokenRequestSpec": {
        1: _F("audiences", repeated=True),
        3: _F("boundObjectRef", "BoundObjectReference", pointer=True),
        4: _F("expirationSeconds", "int", pointer=True),
    },
    "BoundObjectReference": {n: _F(name) for n, name in enumerate(("kind", "apiVersion", "name", "uid"), 1)},
    "SelfSubjectAccessReview": {1: _F("metadata", "ObjectMeta"), 2: _F("spec", "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {
        1: _F("resourceAttributes", "ResourceAttributes", pointer=True),
        2: _F("nonResourceAttributes", "NonResourceAttributes", pointer=True),
    },
    "ResourceAttributes": {
        n: _F(name)
        for n, name in enumerate(("namespace", "verb", "group", "version", "resource", "subresource", "name"), 1)
    },
    "NonResourceAttributes": {1: _F("path"), 2: _F("verb")},
    "SelfSubjectRulesReview": {1: _F("metadata", "ObjectMeta"), 2: _F("spec", "SelfSubjectRulesReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: _F("namespace")},
    "SelfSubjectReview": {1: _F("metadata", "ObjectMeta")},
}
_TOP_LEVEL = frozenset(
    {("v1", "Namespace"), ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "ServiceAccount")}
    | {("authentication.k8s.io/v1", "TokenRequest"), ("authentication.k8s.io/v1", "SelfSubjectReview")}
    | {("authorization.k8s.io/v1", k) for k in ("SelfSubjectAccessReview", "SelfSubjectRulesReview")}
)


def _malformed(why: str) -> ApiError:
    """A body that does not decode is one in a format this server does not read: 415, as for any other."""
    refused = errors.unsupported_body_media_type()
    return ApiError(refused.code, "UnsupportedMediaType", f"{refused.message} (protobuf: {why})")


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data) or shift > 63:
            raise _malformed("truncated varint")
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """``(field number, value)`` pairs: varints as ints, length-delimited fields as bytes; fixed-width skipped."""
    out: list[tuple[int, int | bytes]] = []
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            out.append((number, value))
        elif wire == 2:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise _malformed("truncated field")
            out.append((number, data[at : at + size]))
            at += size
        elif wire in (1, 5):
            at += 8 if wire == 1 else 4
        else:
            raise _malformed(f"unsupported wire type {wire}")
    return out


def _bytes(value: int | bytes) -> bytes:
    if isinstance(value, int):
        raise _malformed("a varint where a length-delimited field was expected")
    return value


def _scalar(field: _F, value: int | bytes) -> Any:
    if field.kind == "int":
        if not isinstance(value, int):
            raise _malformed(f"{field.name} is not a varint")
        return value - (1 << 64) if value >= 1 << 63 else value
    if field.kind == "bool":
        return bool(value)
    if field.kind == "time":
        seconds = dict(_fields(_bytes(value))).get(1, 0)
        if not isinstance(seconds, int) or seconds == 0:
            return None
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if field.kind in _MESSAGES:
        return _message(field.kind, _bytes(value))
    return _bytes(value).decode()


def _map_entry(field: _F, value: int | bytes) -> tuple[str, str]:
    entry = dict(_fields(_bytes(value)))
    raw = _bytes(entry.get(2, b""))
    shown = base64.b64encode(raw).decode() if field.kind == "bytesmap" else raw.decode()
    return _bytes(entry.get(1, b"")).decode(), shown


def _message(name: str, data: bytes) -> dict[str, Any]:
    schema, out = _MESSAGES[name], dict[str, Any]()
    for number, value in _fields(data):
        field = schema.get(number)
        if field is None:
            continue  # a field this stand-in does not read
        if field.kind in ("map", "bytesmap"):
            key, shown = _map_entry(field, value)
            out.setdefault(field.name, {})[key] = shown
        elif field.repeated:
            out.setdefault(field.name, []).append(_scalar(field, value))
        else:
            out[field.name] = _scalar(field, value)
    return {k: v for k, v in out.items() if _keeps(schema, k, v)}


def _keeps(schema: dict[int, _F], name: str, value: Any) -> bool:
    """Whether JSON would show this field: a pointer always, anything else only when not empty."""
    pointer = any(f.pointer for f in schema.values() if f.name == name)
    return pointer or value not in ("", 0, False, None, {}, [])


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf request body (with ``apiVersion`` and ``kind``); 415 if it does not decode or
    the kind is not one this stand-in reads as protobuf."""
    if not body.startswith(_MAGIC):
        raise _malformed("it does not start with the k8s protobuf prefix")
    unknown = dict(_fields(body[len(_MAGIC) :]))
    type_meta = dict(_fields(_bytes(unknown.get(1, b""))))
    api_version, kind = (_bytes(type_meta.get(n, b"")).decode() for n in (1, 2))
    if (api_version, kind) not in _TOP_LEVEL:
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the lab's API server reads {kind or 'this kind'} as JSON only (protobuf bodies are read for "
            "Namespace, ConfigMap, Secret, ServiceAccount, TokenRequest and the self-subject reviews): send "
            "application/json",
        )
    return {"apiVersion": api_version, "kind": kind, **_message(kind, _bytes(unknown.get(2, b"")))}
