"""The HTTP transport of a run: CA certificates are loaded only when a run first speaks TLS, off the event loop.

Building a verifying TLS context reads and parses the whole CA bundle: about 20 ms of CPU, a tenth of an
investigation. httpx does it when a client is built, before the first probe can start. A run against NodePorts
or in-cluster Services is often plain http and never needs it. So plain http goes through a transport that
loads nothing. The verifying transport is built on the first https request, in a worker thread: OpenSSL releases
the GIL while it loads the bundle, so the probes already waiting on the network keep going.
"""

from __future__ import annotations

import anyio
import anyio.to_thread
import httpx

__all__ = ["LazyTLSTransport"]


class LazyTLSTransport(httpx.AsyncBaseTransport):
    """Plain http at once; https through a verifying transport built on first use (one build per run)."""

    def __init__(self) -> None:
        # verify=False only skips loading CA certificates: this transport is never handed an https URL.
        self._plain = httpx.AsyncHTTPTransport(verify=False)
        self._tls: httpx.AsyncHTTPTransport | None = None
        self._lock = anyio.Lock()

    async def _verifying(self) -> httpx.AsyncHTTPTransport:
        async with self._lock:
            if self._tls is None:
                context = await anyio.to_thread.run_sync(httpx.create_ssl_context)
                self._tls = httpx.AsyncHTTPTransport(verify=context)
            return self._tls

    @property
    def tls_loaded(self) -> bool:
        """Whether the CA certificates were loaded (a https URL was requested)."""
        return self._tls is not None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "https":
            transport = self._tls or await self._verifying()
            return await transport.handle_async_request(request)
        return await self._plain.handle_async_request(request)

    async def aclose(self) -> None:
        await self._plain.aclose()
        if self._tls is not None:
            await self._tls.aclose()
