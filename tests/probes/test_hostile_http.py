"""Hostile servers against the HTTP seam and the probes on it (issue 11, findings 1 and 8): a body past the cap
is cut there and reported as ``too_large`` with what was cut; a trickling answer is bounded in time; garbage
bytes are quoted printable and short. Each test measures what the server managed to send, not a timer."""

from __future__ import annotations

import httpx
import pytest

from floe_agents.findings import Code, Status
from floe_agents.probes import http_health as http_module
from floe_agents.probes._http import call_json, printable
from floe_agents.probes.http_health import http_health
from floe_agents.transport import MAX_BODY_BYTES, BodyTooLargeError, RunTransport, run_client
from tests.support.hostile import hostile
from tests.support.probes import CtxFactory, run_probe

BIG = 50 * 1024 * 1024  # far past the cap: a client that read it whole would have got all of it
# What a client that stops at the cap can have been sent: the cap, plus what the two kernels' loopback socket
# buffers took in before the client closed (a few MB at most); half of BIG leaves room for both.
CUT_BOUND = BIG // 2


def _is_printable(text: str) -> bool:
    return all(ch in "\n\t" or ch.isprintable() for ch in text)


def test_printable_decodes_drops_controls_and_cuts() -> None:
    assert printable(b"ok\xff\x00\x1b[31m\tnext\nline\r", 100) == "ok\ufffd[31m\tnext\nline"
    assert printable("x" * 50, 10) == "x" * 9 + "…"
    assert printable("short and clean", 100) == "short and clean"
    assert len(printable(b"\x00" * 10_000 + b"a" * 10_000, 300)) <= 300


async def test_the_transport_cuts_a_huge_body_at_the_cap() -> None:
    with hostile("huge", BIG) as server:
        async with httpx.AsyncClient(transport=RunTransport()) as http:
            with pytest.raises(BodyTooLargeError) as cut:
                await http.get(server.url)
    assert cut.value.cap == MAX_BODY_BYTES
    assert MAX_BODY_BYTES < cut.value.read < CUT_BOUND
    assert 0 < server.most_sent < CUT_BOUND


async def test_a_compressed_body_is_cut_on_its_decoded_size() -> None:
    with hostile("gzip", BIG) as server:
        async with httpx.AsyncClient(transport=RunTransport()) as http:
            with pytest.raises(BodyTooLargeError):
                await http.get(server.url)


async def test_run_client_cuts_with_any_transport() -> None:
    """A transport that is not ours (a proxy's, a test's) still gets the cap, through a response hook."""
    with hostile("huge", BIG) as server:
        async with run_client(httpx.AsyncHTTPTransport()) as http:
            with pytest.raises(BodyTooLargeError):
                await http.get(server.url)
    assert 0 < server.most_sent < CUT_BOUND


async def test_call_json_reports_what_was_cut(make_ctx: CtxFactory) -> None:
    with hostile("huge", BIG) as server:
        ctx = make_ctx("x", {"api": {"urls": {"local": server.url}}})
        answer = await call_json(ctx, "GET", httpx.URL(server.url + "/big"), timeout_s=5)
    assert answer.reason == "too_large"
    evidence = answer.evidence()
    assert evidence["cap_bytes"] == MAX_BODY_BYTES
    assert MAX_BODY_BYTES < int(str(evidence["bytes_read"])) < CUT_BOUND
    assert 0 < server.most_sent < CUT_BOUND


async def test_call_json_quotes_garbage_printable_and_short(make_ctx: CtxFactory) -> None:
    with hostile("garbage") as server:
        ctx = make_ctx("x", {"api": {"urls": {"local": server.url}}})
        answer = await call_json(ctx, "GET", httpx.URL(server.url + "/x"), timeout_s=5)
    assert (answer.status, answer.reason) == (500, "http_status")
    for text, limit in ((answer.detail, 200), (answer.text, 500)):
        assert text and len(text) <= limit and _is_printable(text), text[:80]


async def _health(make_ctx: CtxFactory, url: str) -> dict[str, object]:
    ctx = make_ctx("svc", {"api": {"urls": {"local": url}, "health_path": "/health"}})
    [finding] = await run_probe(http_health, ctx)
    return {"status": finding.status, "code": finding.code, **finding.evidence, "summary": finding.summary}


async def test_http_health_reports_a_huge_body_as_cut(make_ctx: CtxFactory) -> None:
    with hostile("huge", BIG) as server:
        found = await _health(make_ctx, server.url)
    assert (found["status"], found["code"], found["reason"]) == (Status.FAIL, Code.HTTP_BAD_RESPONSE, "too_large")
    assert found["cap_bytes"] == MAX_BODY_BYTES
    assert 0 < server.most_sent < CUT_BOUND


async def test_http_health_quotes_garbage_printable_and_short(make_ctx: CtxFactory) -> None:
    with hostile("garbage") as server:
        found = await _health(make_ctx, server.url)
    assert found["code"] == Code.HTTP_ERROR_STATUS
    body = str(found["body"])
    assert body and len(body) <= 300 and _is_printable(body), body[:80]


async def test_http_health_does_not_wait_for_a_slow_drip(make_ctx: CtxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each byte comes within httpx's read timeout, so only a bound on the whole answer stops it: the server
    gets to send a few bytes, not all of them."""
    monkeypatch.setattr(http_module, "REQUEST_TIMEOUT_S", 0.5)
    with hostile("drip", size=200, interval=0.05) as server:
        found = await _health(make_ctx, server.url)
    assert found["code"] == Code.HTTP_TIMEOUT, found["summary"]
    assert server.most_sent < 200
