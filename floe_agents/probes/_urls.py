"""What is wrong with a configured URL before anything connects to it: its form, and the path it asks of an API.

Why: a URL without a scheme (``//polaris:8181/api/catalog``, ``polaris:8181``), with an empty host
(``http://:8181``) or an impossible port fails in the client with an error that names neither the setting nor
the fix, and a URL whose path the receiving API does not serve fails with a bare 404 far from where it was
written. Both are visible in the configuration alone. The paths each component serves come from the topology
(``serves``), so the check knows APIs, not deployments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import httpx

__all__ = ["URL_VARIABLE", "malformed", "path_served", "suggest"]

# Variables that hold a URL by their name, whatever their value looks like (so a value missing its scheme is seen).
URL_VARIABLE = re.compile(r"(?:_URL|_URI|_ENDPOINT|_ENDPOINT_URL)$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def malformed(value: str) -> str | None:
    """Why ``value`` is not a usable absolute URL, or None when it is one."""
    text = value.strip()
    if not text:
        return "it is empty"
    if any(c.isspace() for c in text):
        return "it contains whitespace"
    if text.startswith("//"):
        return "it has no scheme (it starts with //)"
    if not _SCHEME.match(text):
        return "it has no scheme (no http:// or similar in front)"
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        return f"it cannot be parsed ({exc})"
    if not url.host:
        return "its host is empty"
    if url.port is not None and not 0 < url.port < 65536:
        return f"its port {url.port} is out of range"
    return None


def suggest(value: str) -> str | None:
    """The URL ``value`` most likely meant, when only its scheme is missing (http, or https on port 443)."""
    text = value.strip()
    rest = text[2:] if text.startswith("//") else text
    if _SCHEME.match(text) or not rest or any(c.isspace() for c in rest):
        return None
    scheme = "https" if re.match(r"^[^/]*:443(?:/|$)", rest) else "http"
    candidate = f"{scheme}://{rest}"
    return candidate if malformed(candidate) is None else None


def path_served(path: str, serves: Iterable[str]) -> bool:
    """Whether an API that serves the path prefixes ``serves`` answers ``path`` (a base URL always is)."""
    prefixes = tuple(serves)
    if not prefixes or path in ("", "/"):
        return True
    return any(path == p.rstrip("/") or path.startswith(p if p.endswith("/") else p + "/") or path == p
               for p in prefixes)  # fmt: skip
