"""Kubernetes API calls as plain JSON, with every failure named: the reader the cluster-facing probes share.

The kubernetes and endpoints probes both list namespaced objects. kubernetes-asyncio's models would raise on a
garbage answer and hide the difference between "refused", "timed out", "401" and "not a list", which is exactly
what a 3 a.m. report needs to say; so calls are made raw (``_preload_content=False``) under a hard timeout, and
anything but a 2xx list becomes a :class:`KubeError` carrying a finding code and the reason.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import anyio

from floe_agents.probes._kube_objects import Json, dicts

REQUEST_TIMEOUT_S = 3.0


class KubeError(Exception):
    """A Kubernetes API call that gave no usable answer; ``code`` and ``evidence`` say why."""

    def __init__(self, code: str, reason: str, **evidence: Any) -> None:
        super().__init__(reason)
        self.code, self.evidence = code, {"reason": reason, **evidence}


async def call(fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> bytes:
    """One API call, raw: the body of a 2xx answer, else KubeError naming the failure class."""
    try:
        with anyio.fail_after(REQUEST_TIMEOUT_S + 0.5):
            resp = await fn(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_S, **kwargs)
            try:
                body: bytes = await resp.read()
            finally:
                resp.release()
    except TimeoutError:
        raise KubeError("k8s.api_unreachable", f"no answer within {REQUEST_TIMEOUT_S:g}s", error="timeout") from None
    except aiohttp.ClientConnectorError as exc:
        tls = isinstance(exc, aiohttp.ClientSSLError) or "SSL" in str(exc)
        raise KubeError("k8s.api_unreachable", str(exc), error="tls" if tls else "connect") from None
    except (aiohttp.ClientError, ValueError) as exc:
        error = "truncated" if isinstance(exc, aiohttp.ClientPayloadError) else type(exc).__name__
        raise KubeError("k8s.api_bad_response", f"{type(exc).__name__}: {exc}", error=error) from None
    if 200 <= resp.status < 300:
        return body
    try:
        message = str(json.loads(body).get("message") or "")
    except (ValueError, AttributeError):
        message = body[:200].decode(errors="replace")
    code = "k8s.api_unauthorized" if resp.status in (401, 403) else "k8s.api_bad_response"
    raise KubeError(code, f"HTTP {resp.status} {message}".strip(), status=resp.status)


async def list_items(fn: Callable[..., Awaitable[Any]], namespace: str, **kwargs: Any) -> list[Json]:
    """The ``items`` of a namespaced list call (``kwargs``: e.g. ``label_selector``), as plain JSON; KubeError for
    anything that is not a list."""
    body = await call(fn, namespace, **kwargs)
    try:
        data = json.loads(body)
    except ValueError:
        raise KubeError(
            "k8s.api_bad_response", "answer is not JSON", body=body[:200].decode("utf-8", "replace")
        ) from None
    if not isinstance(data, dict) or "items" not in data or not isinstance(data["items"] or [], list):
        raise KubeError("k8s.api_bad_response", "answer is not a Kubernetes list", body=str(data)[:200])
    return dicts(data.get("items"))
