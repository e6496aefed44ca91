"""Loopback network conditions for tests: a closed port, a listener, a black hole, a misbehaving HTTP server.

Every way a component can fail to answer is reproduced on real sockets, defined here once. "Unreachable" is a
closed port (``closed_port()``), "black-holed" a port that never answers a SYN (``black_hole()``),
"TLS-mismatched" is ``https://`` against the plain-HTTP ``bad_server()``. ``async with bad_server() as base:``
then point a probe's endpoint at ``f"{base}/<class>"`` (any sub-path works: ``/<class>/api/v1/namespaces``).
Classes: ``ok-json`` (a valid empty JSON object), ``slow`` (answers after 5 s), ``error`` (500 with a text body),
``notjson`` (200, JSON content type, HTML body), ``truncated`` (declares 100 bytes, sends 11 and closes),
``auth`` (401), ``forbidden`` (403). ``serve(app)`` puts any other stand-in (an aiohttp app) on a loopback port.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from aiohttp import web

CLASSES = ("slow", "error", "notjson", "truncated", "auth", "forbidden")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): connecting is refused, a server may bind it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def listener() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel completes the handshake; nobody reads)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield int(s.getsockname()[1])


@contextmanager
def black_hole() -> Iterator[int]:
    """A port that never answers a SYN: a listener whose accept backlog is full, so the kernel drops new
    connection attempts and connects hang (a firewalled or black-holed endpoint)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = [socket.socket() for _ in range(4)]
    for c in fillers:
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
    time.sleep(0.05)  # let the fillers' handshakes fill the backlog
    try:
        yield port
    finally:
        for c in fillers:
            c.close()
        server.close()


async def _handle(request: web.Request) -> web.StreamResponse:
    kind = request.match_info["kind"]
    if kind == "slow":
        await asyncio.sleep(5)
        return web.json_response({})
    if kind == "error":
        return web.Response(status=500, text="Internal Server Error")
    if kind == "notjson":
        return web.Response(text="<html>oops</html>", content_type="application/json")
    if kind == "truncated":
        response = web.StreamResponse(headers={"Content-Length": "100", "Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"status": ')
        if request.transport is not None:
            request.transport.close()
        return response
    if kind == "auth":
        return web.json_response({"error": "unauthorized"}, status=401)
    if kind == "forbidden":
        return web.json_response({"error": "forbidden"}, status=403)
    return web.json_response({})


@asynccontextmanager
async def serve(app: web.Application, *, handler_cancellation: bool = False) -> AsyncIterator[str]:
    """An aiohttp app on a free loopback port for the block; yields its base URL (``http://127.0.0.1:<port>``)."""
    runner = web.AppRunner(app, shutdown_timeout=0.1, handler_cancellation=handler_cancellation)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def bad_server() -> AsyncIterator[str]:
    """The misbehaving HTTP server on loopback; yields its base URL."""
    app = web.Application()
    app.router.add_route("*", "/{kind}", _handle)
    app.router.add_route("*", "/{kind}/{rest:.*}", _handle)
    async with serve(app, handler_cancellation=True) as base:
        yield base


__all__ = ["CLASSES", "bad_server", "black_hole", "closed_port", "listener", "serve"]
