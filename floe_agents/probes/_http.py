"""HTTP for the probes: one call under a timeout, one answer, one vocabulary for what went wrong.

Every probe that speaks HTTP needs the same things: a request bounded by its own timeout, a reason when no usable
answer came back, and the JSON body when one did. Written once, so a refused port reads ``refused`` in every
probe's evidence, a TLS mismatch is ``tls`` and never ``protocol``, and a probe decides only what an answer
*means* for its component. Reasons: ``timeout``, ``tls``, ``refused``, ``unresolvable``, ``connect`` (nothing
answered: :data:`UNREACHABLE`); ``truncated``, ``protocol`` (a broken answer: :data:`BROKEN`); ``auth``
(401/403), ``http_status`` (any other non-2xx), ``not_json`` (a 2xx body that is not JSON).

A body is read into a typed model once, at the edge (:func:`read`), and an answer that is not the expected one
becomes the standard failure verdict in one place (:func:`problem`).
"""

from __future__ import annotations

import dataclasses
import json
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import anyio
import httpx
from pydantic import BaseModel, JsonValue, ValidationError

from floe_agents.context import ProbeContext
from floe_agents.findings import Status
from floe_agents.probes._verdict import Verdict
from floe_agents.text import printable
from floe_agents.transport import BodyTooLargeError

__all__ = [
    "BROKEN",
    "UNREACHABLE",
    "Answer",
    "call_json",
    "failure_reason",
    "printable",
    "problem",
    "read",
    "under",
]

UNREACHABLE = frozenset({"timeout", "tls", "refused", "unresolvable", "connect"})
BROKEN = frozenset(
    {"truncated", "protocol", "too_large"}
)  # an answer began, then broke off, made no sense, or never ended
BOUND_SLACK_S = 0.5  # a bounded call (httpx's timeout is per phase) gets this much more in all, and no more
TEXT_CHARS = 500  # how much of a body is kept as text, for error evidence

M = TypeVar("M", bound=BaseModel)


def under(base: httpx.URL, path: str) -> httpx.URL:
    """``path`` below the endpoint's own path: a component behind a proxy may sit under a base path."""
    return base.copy_with(path=base.path.rstrip("/") + "/" + path.lstrip("/"), query=None)


def _is_tls(exc: BaseException) -> bool:
    text = str(exc)
    return (
        isinstance(exc, ssl.SSLError)
        or "SSL" in type(exc).__name__
        or text.startswith("SSL")
        or "[SSL" in text
        or "CERTIFICATE" in text.upper()
        or "wrong version number" in text
    )


def failure_reason(exc: BaseException) -> str:
    """Why a request got no usable answer, from the exception and the errors it was raised from."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, BodyTooLargeError):
        return "too_large"
    seen: BaseException | None = exc
    while seen is not None:
        if _is_tls(seen):
            return "tls"
        if isinstance(seen, ConnectionRefusedError):
            return "refused"
        if isinstance(seen, socket.gaierror):
            return "unresolvable"
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    return "truncated" if isinstance(exc, httpx.RemoteProtocolError) else "protocol"


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back. ``reason`` is empty for a 2xx whose body (if any) is JSON, held in ``body``; otherwise
    ``body`` is the parsed JSON error body when there is one, and ``detail`` says what went wrong. ``text`` is the
    start of the body as text; ``error`` the exception as raised (``Type: message``) when no answer came."""

    url: str  # without its query, which may carry credentials
    status: int | None = None
    body: JsonValue = None
    reason: str = ""
    detail: str = ""
    text: str = ""
    error: str = ""
    cut: tuple[int, int] | None = None  # (cap, bytes read) of a body cut at the cap

    @property
    def unreachable(self) -> bool:
        return self.reason in UNREACHABLE

    @property
    def transport_error(self) -> str:
        """The reason when the exchange itself failed (nothing came back, or it broke off), else ``""``."""
        return self.reason if self.reason in UNREACHABLE | BROKEN else ""

    @property
    def success(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def evidence(self) -> dict[str, object]:
        """The exchange as evidence: where, why, what status, what went wrong (and what was cut, if anything)."""
        evidence: dict[str, object] = {
            "url": self.url,
            "reason": self.reason or None,
            "status_code": self.status,
            "error": self.detail,
        }
        if self.cut is not None:
            evidence |= {"cap_bytes": self.cut[0], "bytes_read": self.cut[1]}
        return evidence


async def call_json(
    ctx: ProbeContext,
    method: str,
    url: httpx.URL,
    *,
    timeout_s: float,
    bounded: bool = False,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    content: bytes | None = None,
    json: object = None,
) -> Answer:
    """One request under ``timeout_s`` (per phase, as httpx counts it; ``bounded``: also ``timeout_s`` +
    :data:`BOUND_SLACK_S` in all, so a server that trickles its answer is not waited for); ``token`` is sent as a
    bearer token. Every failure becomes an :class:`Answer` with its reason, never an error."""
    shown = str(url.copy_with(query=None))
    sent = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    bound_s = timeout_s + BOUND_SLACK_S if bounded else None
    response: httpx.Response | None = None
    with anyio.move_on_after(bound_s):
        try:
            response = await ctx.http.request(
                method, url, headers=sent, data=data, content=content, json=json, timeout=timeout_s
            )
        except httpx.HTTPError as exc:
            raised = printable(f"{type(exc).__name__}: {exc}", 300)
            if isinstance(exc, BodyTooLargeError):
                cut = (exc.cap, exc.read)
                return Answer(shown, reason="too_large", detail=raised, error=raised, cut=cut)
            if isinstance(exc, httpx.TimeoutException):
                detail = f"no answer within {timeout_s:g}s ({type(exc).__name__})"
                return Answer(shown, reason="timeout", detail=detail, error=raised)
            return Answer(shown, reason=failure_reason(exc), detail=raised, error=raised)
    if response is None:
        late = f"no complete answer within {bound_s:g}s"
        return Answer(shown, reason="timeout", detail=late, error=late)
    return _answer(shown, response)


def _answer(shown: str, response: httpx.Response) -> Answer:
    code, text = response.status_code, printable(response.text, TEXT_CHARS)
    detail = printable(response.text, 200)
    body: JsonValue = None
    if response.content:
        try:
            body = json.loads(response.content)
        except ValueError:
            if response.is_success:
                return Answer(shown, code, reason="not_json", detail=detail, text=text)
    if code in (401, 403):
        return Answer(shown, code, body, reason="auth", detail=detail, text=text)
    if not response.is_success:
        return Answer(shown, code, body, reason="http_status", detail=detail, text=text)
    return Answer(shown, code, body, text=text)


def read(answer: Answer, model: type[M], *, errors: bool = False) -> M | None:
    """The answer's body as ``model``, or None when it has no usable body or the body is not of that shape.
    Only a 2xx JSON answer is read, unless ``errors``: then an error status's JSON body too (a 503 health report,
    a server's error model)."""
    if (answer.reason and not errors) or answer.body is None:
        return None
    try:
        return model.model_validate(answer.body)
    except ValidationError:
        return None


def problem(answer: Answer, *, area: str, what: str, expected: str) -> Verdict:
    """The standard failure for an answer that is not the expected one, filed under its URL: ``<area>.auth_failed``
    (401/403), ``<area>.unreachable`` (nothing answered) or ``<area>.bad_response`` (anything else). ``expected``
    is the reason given when a 2xx JSON answer simply lacked the expected shape."""
    if not answer.reason:
        answer = dataclasses.replace(answer, reason=expected, detail=printable(str(answer.body), 200))
    kind = "auth_failed" if answer.reason == "auth" else "unreachable" if answer.unreachable else "bad_response"
    summary = f"{area.capitalize()} {what} {answer.url}: {answer.reason} {answer.detail}".strip()
    return Verdict(Status.FAIL, f"{area}.{kind}", summary, answer.evidence(), subject=answer.url)
