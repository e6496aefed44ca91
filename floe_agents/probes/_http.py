"""HTTP for the probes: one call under a timeout, and one vocabulary for what went wrong.

Every probe that speaks HTTP needs the same things: a request bounded by its own timeout, a reason when no usable
answer came back, and the JSON body when one did. Written once, so a refused port reads ``refused`` in every
probe's evidence, a TLS mismatch is ``tls`` and never ``protocol``, and a probe decides only what an answer
*means* for its component. Reasons: ``timeout``, ``tls``, ``refused``, ``unresolvable``, ``connect`` (nothing
answered: :data:`UNREACHABLE`); ``truncated``, ``protocol`` (a broken answer); ``auth`` (401/403),
``http_status`` (any other non-2xx), ``not_json`` (a 2xx body that is not JSON).
"""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from floe_agents.context import ProbeContext

__all__ = ["UNREACHABLE", "Answer", "call_json", "failure_reason", "under"]

UNREACHABLE = frozenset({"timeout", "tls", "refused", "unresolvable", "connect"})


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
    ``body`` is the parsed JSON error body when there is one, and ``detail`` says what went wrong."""

    url: str
    status: int | None = None
    body: Any = None
    reason: str = ""
    detail: str = ""

    @property
    def unreachable(self) -> bool:
        return self.reason in UNREACHABLE


async def call_json(ctx: ProbeContext, method: str, url: httpx.URL, *, timeout_s: float, **kwargs: Any) -> Answer:
    """One request under ``timeout_s``; every failure becomes an :class:`Answer` with its reason, never an error."""
    shown = str(url.copy_with(query=None))
    try:
        response = await ctx.http.request(method, url, timeout=timeout_s, **kwargs)
    except httpx.TimeoutException as exc:
        return Answer(shown, reason="timeout", detail=f"no answer within {timeout_s:g}s ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return Answer(shown, reason=failure_reason(exc), detail=f"{type(exc).__name__}: {exc}"[:300])
    code = response.status_code
    body: Any = None
    if response.content:
        try:
            body = json.loads(response.content)
        except ValueError:
            if response.is_success:
                return Answer(shown, code, reason="not_json", detail=response.text[:200])
    if code in (401, 403):
        return Answer(shown, code, body, reason="auth", detail=response.text[:200])
    if not response.is_success:
        return Answer(shown, code, body, reason="http_status", detail=response.text[:200])
    return Answer(shown, code, body)
