"""probes._http against real servers on loopback: every way an HTTP exchange can fail gets one reason, the same
for every probe, and answers keep their status and JSON body."""

from __future__ import annotations

import httpx
import pytest

from floe_agents.probes._http import Answer, call_json, failure_reason, under
from tests.support.net import bad_server, closed_port
from tests.support.probes import CtxFactory


async def call(make_ctx: CtxFactory, url: str, method: str = "GET", timeout_s: float = 0.5) -> Answer:
    ctx = make_ctx("x", {"api": {"urls": {"local": url}}})
    return await call_json(ctx, method, httpx.URL(url), timeout_s=timeout_s)


@pytest.mark.parametrize(
    ("kind", "status", "reason", "body"),
    [
        ("ok-json", 200, "", {}),
        ("error", 500, "http_status", None),
        ("notjson", 200, "not_json", None),
        ("truncated", None, "truncated", None),
        ("auth", 401, "auth", {"error": "unauthorized"}),
        ("forbidden", 403, "auth", {"error": "forbidden"}),
        ("slow", None, "timeout", None),
    ],
)
async def test_answers_and_broken_answers(
    make_ctx: CtxFactory, kind: str, status: int | None, reason: str, body: object
) -> None:
    async with bad_server() as base:
        answer = await call(make_ctx, f"{base}/{kind}?token=t")
    assert (answer.status, answer.reason, answer.body) == (status, reason, body)
    assert answer.url == f"{base}/{kind}"  # the query (which may carry credentials) is never shown
    assert answer.unreachable is (reason == "timeout")
    assert bool(answer.detail) is bool(reason)


async def test_nothing_answers(make_ctx: CtxFactory) -> None:
    refused = await call(make_ctx, f"http://127.0.0.1:{closed_port()}/x")
    unresolvable = await call(make_ctx, "http://floe-infra-polaris.invalid/x")
    async with bad_server() as base:
        tls = await call(make_ctx, base.replace("http://", "https://") + "/ok-json")
    assert [a.reason for a in (refused, unresolvable, tls)] == ["refused", "unresolvable", "tls"]
    assert all(a.unreachable and a.status is None for a in (refused, unresolvable, tls))


def test_reason_walks_the_errors_a_failure_was_raised_from() -> None:
    def raised_from(cause: BaseException) -> httpx.ConnectError:
        try:
            raise httpx.ConnectError("All connection attempts failed") from cause
        except httpx.ConnectError as exc:
            return exc

    assert failure_reason(raised_from(ConnectionRefusedError(111, "refused"))) == "refused"
    assert failure_reason(httpx.ConnectError("SSL: cannot load the CA certificates from /nope")) == "tls"
    assert failure_reason(raised_from(OSError(113, "No route to host"))) == "connect"
    assert failure_reason(httpx.ReadTimeout("slow")) == "timeout"
    assert failure_reason(httpx.ReadError("reset")) == "protocol"


@pytest.mark.parametrize(
    ("base", "path", "url"),
    [
        ("http://jaeger:16686", "/api/services", "http://jaeger:16686/api/services"),
        ("https://gw.example/jaeger/", "/api/services", "https://gw.example/jaeger/api/services"),
        ("http://localstack:4566?x=1", "_localstack/health", "http://localstack:4566/_localstack/health"),
    ],
)
def test_under_keeps_the_endpoint_base_path(base: str, path: str, url: str) -> None:
    assert str(under(httpx.URL(base), path)) == url
