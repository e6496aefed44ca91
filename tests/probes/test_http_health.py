"""http_health probe against a real HTTP server on loopback: every bad-answer class gets its own code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from floe_agents.findings import Code, Finding, Status
from floe_agents.probes import http_health as http_module
from floe_agents.probes.http_health import http_health
from tests.support.net import serve
from tests.support.probes import CtxFactory, run_probe


async def truncated(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Length": "100", "Content-Type": "application/json"})
    await response.prepare(request)
    await response.write(b'{"status": ')
    request.transport.close()  # type: ignore[union-attr]
    return response


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.json_response({"status": "UP"})


def answer(
    body: object, status: int = 200, text: bool = False, content_type: str | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        if text:
            return web.Response(text=str(body), status=status, content_type=content_type or "text/plain")
        return web.json_response(body, status=status)

    return handler


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/ok", answer({"status": "UP", "checks": []}))
    app.router.add_get("/plain", answer("pong", text=True))
    app.router.add_get("/down", answer({"status": "DOWN"}, 503))
    app.router.add_get("/says-down", answer({"health": "DOWN"}))
    app.router.add_get("/auth", answer({"error": "unauthorized"}, 401))
    app.router.add_get("/boom", answer("Internal Server Error", 500, text=True))
    app.router.add_get("/notjson", answer("<html>oops", text=True, content_type="application/json"))
    app.router.add_get("/truncated", truncated)
    app.router.add_get("/slow", slow)
    async with serve(app, handler_cancellation=True) as base:
        yield base.removeprefix("http://")


async def probe_path(make_ctx: CtxFactory, server: str, path: str, scheme: str = "http") -> Finding:
    ctx = make_ctx("svc", {"api": {"urls": {"local": f"{scheme}://{server}"}, "health_path": path}})
    [finding] = await run_probe(http_health, ctx)
    return finding


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/ok", Status.OK, Code.HTTP_HEALTHY),
        ("/plain", Status.OK, Code.HTTP_HEALTHY),
        ("/down", Status.FAIL, Code.HTTP_ERROR_STATUS),
        ("/says-down", Status.FAIL, Code.HTTP_UNHEALTHY),
        ("/auth", Status.FAIL, Code.HTTP_AUTH_FAILED),
        ("/boom", Status.FAIL, Code.HTTP_ERROR_STATUS),
        ("/notjson", Status.FAIL, Code.HTTP_BAD_RESPONSE),
        ("/truncated", Status.FAIL, Code.HTTP_BAD_RESPONSE),
    ],
)
async def test_answer_classes(make_ctx: CtxFactory, server: str, path: str, status: Status, code: str) -> None:
    finding = await probe_path(make_ctx, server, path)
    assert (finding.status, finding.code) == (status, code), finding.summary


async def test_slow_answer_times_out(make_ctx: CtxFactory, server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_module, "REQUEST_TIMEOUT_S", 0.2)
    finding = await probe_path(make_ctx, server, "/slow")
    assert finding.code == Code.HTTP_TIMEOUT


async def test_tls_against_plain_http_is_a_tls_error(make_ctx: CtxFactory, server: str) -> None:
    finding = await probe_path(make_ctx, server, "/ok", scheme="https")
    assert finding.code == Code.HTTP_TLS_ERROR, finding.summary


async def test_endpoints_whose_tcp_failed_are_skipped(make_ctx: CtxFactory, server: str) -> None:
    ctx = make_ctx("svc", {"api": {"urls": {"local": f"http://{server}"}, "health_path": "/ok"}})
    refused = ctx.finding(Status.FAIL, Code.TCP_REFUSED, "closed", subject=server)
    ctx = ctx.for_check("http_health", prior=(refused.model_copy(update={"check": "tcp"}),))
    assert await run_probe(http_health, ctx) == []
