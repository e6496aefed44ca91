"""API errors shaped exactly like the real apiserver's ``Status`` objects.

Why the care over wording: clients branch on ``code`` and ``reason`` (a Lease lock retries on ``Conflict``, an
agent reports ``NotFound`` differently from ``Forbidden``), and people read ``message``. A diagnosis tested against a
stand-in that says something a real cluster never says would teach the agents the wrong strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from floe_lab.kube.requestinfo import RequestInfo
from floe_lab.kube.resources import ResourceType

__all__ = [
    "ApiError",
    "Cause",
    "already_exists",
    "bad_request",
    "conflict",
    "expired",
    "forbidden",
    "invalid",
    "method_not_allowed",
    "namespace_not_found",
    "not_found",
    "path_not_found",
    "success_status",
    "unauthorized",
    "unsupported_media_type",
]

_MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


@dataclass(frozen=True)
class Cause:
    """One field-level validation failure (``details.causes[]`` of an ``Invalid`` Status)."""

    field: str
    reason: str  # FieldValueRequired, FieldValueInvalid, FieldValueForbidden, ...
    message: str  # e.g. 'Required value: name or generateName is required'


class ApiError(Exception):
    """A failed request; :meth:`status` is the body the real apiserver would send."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body

    def __repr__(self) -> str:
        return f"ApiError({self.code}, {self.reason!r}, {self.message!r})"


def _details(rt: ResourceType, name: str, *, kind: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if rt.group:
        details["group"] = rt.group
    details["kind"] = kind if kind is not None else rt.plural
    return details


def not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{rt.qualified} "{name}" not found', _details(rt, name))


def namespace_not_found(namespace: str) -> ApiError:
    return ApiError(404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"})


def already_exists(rt: ResourceType, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{rt.qualified} "{name}" already exists', _details(rt, name))


def conflict(rt: ResourceType, name: str, why: str = _MODIFIED) -> ApiError:
    return ApiError(
        409, "Conflict", f'Operation cannot be fulfilled on {rt.qualified} "{name}": {why}', _details(rt, name)
    )


def invalid(rt: ResourceType, name: str, causes: list[Cause]) -> ApiError:
    parts = [f"{c.field}: {c.message}" for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details = _details(rt, name, kind=rt.kind)
    details["causes"] = [{"reason": c.reason, "message": c.message, "field": c.field} for c in causes]
    return ApiError(422, "Invalid", f'{rt.qualified_kind} "{name}" is invalid: {joined}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(user: str, info: RequestInfo, reason: str = "") -> ApiError:
    """The authorizer's 403, worded as ``responsewriters.Forbidden`` and ``NewForbidden`` word it."""
    if not info.resource_request:
        why = f'User "{user}" cannot {info.verb} path "{info.path}"'
        return ApiError(403, "Forbidden", f"forbidden: {why}" + (f": {reason}" if reason else ""), {})
    where = f'in the namespace "{info.namespace}"' if info.namespace else "at the cluster scope"
    why = f'User "{user}" cannot {info.verb} resource "{info.resource_path}" in API group "{info.api_group}" {where}'
    why += f": {reason}" if reason else ""
    what = info.qualified_resource
    message = f'{what} "{info.name}" is forbidden: {why}' if info.name else f"{what} is forbidden: {why}"
    details: dict[str, Any] = {"name": info.name} if info.name else {}
    if info.api_group:
        details["group"] = info.api_group
    details["kind"] = info.resource
    return ApiError(403, "Forbidden", message, details)


def path_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


def unsupported_media_type() -> ApiError:
    accepted = ", ".join(
        [
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
            "application/strategic-merge-patch+json",
        ]
    )
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {accepted}",
    )


def unsupported_body_media_type() -> ApiError:
    """A create/update body in a format the stand-in does not decode (CBOR, protobuf of a kind :mod:`.protobuf`
    does not read): the apiserver's 415, as it answers for types it serves only as JSON."""
    return ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml",
    )


def success_status(rt: ResourceType, name: str, uid: str) -> dict[str, Any]:
    """The body of a DELETE that removed an object at once, for types that do not echo the object back."""
    details = _details(rt, name)
    details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
