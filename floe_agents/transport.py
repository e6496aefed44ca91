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
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
import httpx

from floe_agents import __version__

__all__ = [
    "CLOSE_TIMEOUT_S",
    "MAX_BODY_BYTES",
    "USER_AGENT",
    "BodyTooLargeError",
    "RunTransport",
    "cap_body",
    "run_client",
]

MAX_BODY_BYTES = 8 * 1024 * 1024  # the most of one response body a run reads (a health answer is a few KB)
CLOSE_TIMEOUT_S = 0.5  # closing the pools at the end of a run waits no longer for a peer

_Origin = tuple[bytes, bytes, int | None]


class BodyTooLargeError(httpx.TransportError):
    """A response body longer than the cap: cut after ``read`` bytes (``cap`` allowed)."""

    def __init__(self, cap: int, read: int, request: httpx.Request | None = None) -> None:
        super().__init__(f"body larger than the {cap} byte cap: cut after {read} bytes", request=request)
        self.cap = cap
        self.read = read


class _CappedStream(httpx.AsyncByteStream):
    """A response stream that fails once more than ``cap`` bytes came through."""

    def __init__(
        self, inner: httpx.AsyncByteStream, cap: int, request: httpx.Request | None, decoder: Any = None
    ) -> None:
        self._inner = inner
        self._cap = cap
        self._request = request
        self._decoder = decoder  # an httpx content decoder, when the body is compressed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        read = 0
        async for raw in self._inner:
            chunk = self._decoder.decode(raw) if self._decoder is not None else raw
            read += len(chunk)
            if read > self._cap:
                raise BodyTooLargeError(self._cap, read, self._request)
            yield chunk
        if self._decoder is not None:
            yield self._decoder.flush()

    async def aclose(self) -> None:
        await self._inner.aclose()


def cap_body(response: httpx.Response, cap: int = MAX_BODY_BYTES) -> httpx.Response:
    """``response`` with its body stream cut at ``cap`` bytes (a declared longer length fails at once)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise BodyTooLargeError(cap, 0, response._request)
    if isinstance(response.stream, httpx.AsyncByteStream):
        decoder = None
        if response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
            decoder = response._get_content_decoder()  # decoded here, so the cap counts what a parse would see
            del response._decoder  # httpx caches it; it must decode nothing twice
            del response.headers["content-encoding"]
        response.stream = _CappedStream(response.stream, cap, response._request, decoder)
    return response


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
        response = await pool.handle_async_request(request)
        try:
            return cap_body(response)
        except BodyTooLargeError:
            await response.aclose()
            raise

    async def aclose(self) -> None:
        """Close every pool, within :data:`CLOSE_TIMEOUT_S` in all: a run's end waits for no server."""
        pools, self._pools = list(self._pools.values()), {}
        with anyio.move_on_after(CLOSE_TIMEOUT_S, shield=True):
            for pool in pools:
                try:
                    await pool.aclose()
                except Exception:  # noqa: S112 - closing the others matters more than one pool's error
                    continue


def _environment_names_a_proxy() -> bool:
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


# Every request floe-agents sends says so: servers (and the lab, which counts what each client asks it to change)
# can tell its reads and writes from everyone else's.
USER_AGENT = f"floe-agents/{__version__}"


def run_client(transport: httpx.AsyncBaseTransport | None = None, **options: Any) -> httpx.AsyncClient:
    """The HTTP client of a run: ``transport`` (tests), else :class:`RunTransport`, else (when the environment
    names a proxy) httpx's own transport, which routes through it. Bodies are cut at :data:`MAX_BODY_BYTES` with
    every transport (a response hook caps those :class:`RunTransport` did not)."""
    if transport is None and not _environment_names_a_proxy():
        transport = RunTransport()
    if not isinstance(transport, RunTransport):
        hooks = options.setdefault("event_hooks", {})
        hooks["response"] = [*hooks.get("response", ()), _cap_hook]
    return httpx.AsyncClient(transport=transport, **options)


async def _cap_hook(response: httpx.Response) -> None:
    cap_body(response)
