"""Polaris's error shapes, so a client sees the same status, ``type`` and message a real Polaris sends.

Why a module of its own: floe-agents diagnoses Polaris from what comes back over the wire, so the stand-in is
only useful if it fails with Polaris's exact vocabulary. Polaris renders every ``RuntimeException`` through
``IcebergExceptionMapper`` as the Iceberg REST ErrorModel ``{"error": {"message", "type", "code"}}`` with the
exception's simple class name as ``type``; cloud SDK exceptions get their status from the storage's HTTP code
(404 -> 400, 401 -> 403, 3xx -> 422, 5xx -> 502), and anything unmapped is 500. The OAuth endpoint uses the
RFC 6749 shape instead. Messages below are Polaris's and the AWS SDK's own format strings.

One deliberate extra: storage failures also carry the Java cause chain in the ErrorModel's optional ``stack``
field. Real Polaris only writes that chain to its log (where an operator finds the failing host name); the
stand-in logs it too, and adds it to the body so a test can see it without scraping logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

__all__ = [
    "UNKNOWN_HOST_MESSAGE",
    "OAuthError",
    "PolarisError",
    "SdkError",
    "already_exists",
    "bad_request",
    "cloud_status",
    "commit_conflict",
    "commit_failed",
    "forbidden",
    "illegal_argument",
    "no_such_namespace",
    "no_such_table",
    "not_found",
    "storage_error",
    "unprocessable",
]

UNKNOWN_HOST_MESSAGE = (
    "Received an UnknownHostException when attempting to interact with a service. See cause for the exact "
    "endpoint that is failing to resolve. If this is happening on an endpoint that previously worked, there may "
    "be a network connectivity issue or your DNS cache could be storing endpoints for too long."
)
_ACCESS_DENIED_HINTS = ("access denied", "not authorized", "forbidden")
_OAUTH_ERRORS: Mapping[str, tuple[int, str]] = MappingProxyType(
    {
        "unauthorized_client": (401, "The client is not authorized"),
        "invalid_client": (400, "The Client is invalid"),
        "invalid_grant": (400, "The grant is invalid"),
        "unsupported_grant_type": (400, "The grant type is unsupported"),
        "invalid_scope": (400, "The scope is invalid"),
        "invalid_request": (400, "The request is invalid"),
    }
)


class PolarisError(Exception):
    """A failure Polaris answers with the Iceberg REST ErrorModel."""

    def __init__(self, status: int, type_: str, message: str, stack: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.stack = tuple(stack)

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.status}
        if self.stack:
            error["stack"] = list(self.stack)
        return {"error": error}


class OAuthError(Exception):
    """A token-endpoint failure, answered in the RFC 6749 shape Polaris uses (``OAuthTokenErrorResponse``)."""

    def __init__(self, error: str) -> None:
        self.error = error
        self.status, self.description = _OAUTH_ERRORS[error]
        super().__init__(f"{error}: {self.description}")

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description, "error_uri": None}


class SdkError(Exception):
    """A failure inside the (AWS) SDK Polaris uses for its own storage I/O, before Polaris maps it.

    ``type_`` is the Java exception's simple name (``SdkClientException``, ``S3Exception``, ``StsException``),
    ``cloud_status`` the storage service's HTTP status when it answered at all, ``causes`` the Java cause chain
    as Polaris logs it (this is where the unresolvable host is named).
    """

    def __init__(
        self, type_: str, message: str, *, cloud_status: int | None = None, causes: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message
        self.cloud_status = cloud_status
        self.causes = tuple(causes)

    def java_trace(self) -> list[str]:
        package = {
            "SdkClientException": "software.amazon.awssdk.core.exception",
            "S3Exception": "software.amazon.awssdk.services.s3.model",
            "StsException": "software.amazon.awssdk.services.sts.model",
        }.get(self.type, "org.apache.iceberg.exceptions")
        return [f"{package}.{self.type}: {self.message}", *(f"Caused by: {c}" for c in self.causes)]


def cloud_status(status: int, message: str) -> int:
    """``IcebergExceptionMapper.mapCloudExceptionToResponseCode`` for an S3 error with HTTP ``status``."""
    lowered = message.lower()
    if any(hint in lowered for hint in _ACCESS_DENIED_HINTS):
        return 403
    if status == 404:
        return 400
    if status == 401:
        return 403
    if status in (400, 403, 408, 429, 504):
        return status
    if 300 <= status < 400:
        return 422
    if 500 <= status < 600:
        return 502
    return 500


def storage_error(err: SdkError) -> PolarisError:
    """How a storage failure during Polaris's own metadata I/O reaches the client."""
    status = 500 if err.cloud_status is None else cloud_status(err.cloud_status, err.message)
    return PolarisError(status, err.type, err.message, err.java_trace())


def not_found(message: str) -> PolarisError:
    return PolarisError(404, "NotFoundException", message)


def no_such_namespace(namespace: str) -> PolarisError:
    return PolarisError(404, "NoSuchNamespaceException", f"Namespace does not exist: {namespace}")


def no_such_table(identifier: str) -> PolarisError:
    return PolarisError(404, "NoSuchTableException", f"Table does not exist: {identifier}")


def already_exists(message: str) -> PolarisError:
    return PolarisError(409, "AlreadyExistsException", message)


def commit_failed(message: str) -> PolarisError:
    return PolarisError(409, "CommitFailedException", message)


def commit_conflict(label: str, current: int, expected: object) -> PolarisError:
    """A management update with a stale ``currentEntityVersion`` (Polaris's ``CommitConflictException``)."""
    return PolarisError(
        409,
        "CommitConflictException",
        f"Failed to update {label}; currentEntityVersion '{current}', expected '{expected}'",
    )


def forbidden(message: str) -> PolarisError:
    return PolarisError(403, "ForbiddenException", message)


def bad_request(message: str, type_: str = "BadRequestException") -> PolarisError:
    return PolarisError(400, type_, message)


def illegal_argument(message: str) -> PolarisError:
    return PolarisError(400, "IllegalArgumentException", message)


def unprocessable(message: str, stack: Sequence[str] = ()) -> PolarisError:
    return PolarisError(422, "UnprocessableEntityException", message, stack)
