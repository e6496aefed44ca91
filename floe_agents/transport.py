"""The HTTP transport of a run: one connection pool per origin, and CA certificates only once TLS is spoken.

Building a verifying TLS context reads and parses the whole CA bundle: about 20 ms of CPU, a tenth of an
investigation. httpx does it when a client is built, before the first probe can start. A run against NodePorts
or in-cluster Services is often plain http and never needs it. So the verifying context is built on the first
https request, in a worker thread: OpenSSL releases the GIL while it loads the bundle, so the probes already
waiting on the network keep going.

httpcore's pool checks every idle connection it holds (a ``poll`` and a ``getpeername`` each) whenever a request
starts or a response closes. One pool for a whole run holds the connections to a dozen components, so each
request paid for all of them; a pool per origin (scheme, host, port) only looks at its own.
"""

from __future__ import annotations

import ssl
import urllib.request
from typing import Any

import anyio
import anyio.to_thread
import httpx

__all__ = ["RunTransport", "run_client"]

_Origin = tuple[bytes, bytes, int | None]


class RunTransport(httpx.AsyncBaseTransport):
    """Per-origin pools; https through a verifying context built on first use (once per run)."""

    def __init__(self) -> None:
        self._pools: dict[_Origin, httpx.AsyncHTTPTransport] = {}
        # Plain http never uses a TLS context, but each transport would otherwise build its own (0.6 ms each).
        self._plain = httpx.create_ssl_context(verify=False)
        self._verifying: ssl.SSLContext | None = None
        self._lock = anyio.Lock()

    @property
    def tls_loaded(self) -> bool:
        """Whether CA certificates were loaded (a https URL was requested)."""
        return self._verifying is not None

    async def _tls_context(self) -> ssl.SSLContext:
        async with self._lock:
            if self._verifying is None:
                try:
                    self._verifying = await anyio.to_thread.run_sync(httpx.create_ssl_context)
                except (OSError, ssl.SSLError) as exc:  # e.g. SSL_CERT_FILE names a missing file
                    raise httpx.ConnectError(f"SSL: cannot load the CA certificates to verify https: {exc}") from None
            return self._verifying

    async def _pool(self, url: httpx.URL) -> httpx.AsyncHTTPTransport:
        origin = (url.raw_scheme, url.raw_host, url.port)
        if origin not in self._pools:
            context = (self._verifying or await self._tls_context()) if url.scheme == "https" else self._plain
            if origin not in self._pools:  # another request may have made it while we waited for the context
                self._pools[origin] = httpx.AsyncHTTPTransport(verify=context)
        return self._pools[origin]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = await self._pool(request.url)
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            try:
                await pool.aclose()
            except Exception:  # noqa: S112 - closing the others matters more than one pool's error
                continue


def _environment_names_a_proxy() -> bool:
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def run_client(transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> httpx.AsyncClient:
    """The HTTP client of a run: ``transport`` (tests), else :class:`RunTransport`, else (when the environment
    names a proxy) httpx's own transport, which routes through it."""
    if transport is None and not _environment_names_a_proxy():
        transport = RunTransport()
    return httpx.AsyncClient(transport=transport, **options)
