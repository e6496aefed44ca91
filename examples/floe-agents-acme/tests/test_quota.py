"""The acme_quota probe against a real HTTP server on loopback: each answer the API can give is its own finding.

A real server (not a mocked client) so the probe's whole path runs: URL building, the token header, timeouts,
the HTTP client's errors and the JSON parsing. The path of the endpoint URL picks what the server answers.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from floe_agents_acme.quota import CODES, acme_quota

from floe_agents.config.targets import Targets
from floe_agents.context import Services
from floe_agents.registry import Registry
from floe_agents.toolkit import Finding, ProbeContext, Status

TOKEN = "t0ken-for-tests"  # noqa: S105 - the test server's token, not a secret
QUOTAS = {
    "plenty": {"account": "floe", "used": 10, "limit": 1000},
    "low": {"account": "floe", "used": 950, "limit": 1000},
    "exhausted": {"account": "floe", "used": 1000, "limit": 1000, "resets_at": "2030-01-01T00:00:00Z"},
    "not-a-quota": {"hello": "world"},
}


class _AcmeApi(BaseHTTPRequestHandler):
    """``GET /<case>/v1/quota``: the quota of that case, HTML for ``notjson``, 401 without the right token."""

    def do_GET(self) -> None:
        case = self.path.strip("/").split("/")[0]
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, b'{"error": "unauthorized"}')
        elif case == "notjson":
            self._send(200, b"<html>maintenance</html>")
        else:
            self._send(200, json.dumps(QUOTAS[case]).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet: pytest shows failures, not access logs
        pass


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AcmeApi)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_probe(url: str) -> list[Finding]:
    """The probe's findings for one ``acme`` component whose ``api`` endpoint is ``url``."""
    targets = Targets.model_validate(
        {"vantages": {"local": {}}, "components": {"acme": {"endpoints": {"api": {"urls": {"local": url}}}}}}
    )
    # The declarations of this probe alone (its credential, its evidence keys): without them the context would
    # load every installed probe to find them.
    declarations = Registry.of([acme_quota]).declarations()
    async with httpx.AsyncClient() as http:
        services = Services(http=http, resolvers={}, declarations=declarations)
        result = await acme_quota.invoke(ProbeContext("acme", "acme_quota", targets, services))
    assert isinstance(result, list)
    assert {str(f.code) for f in result} <= set(CODES), "every code the probe emits is declared"
    return result


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("plenty", Status.OK, "acme.quota_ok"),
        ("low", Status.WARN, "acme.quota_low"),
        ("exhausted", Status.FAIL, "acme.quota_exhausted"),
        ("not-a-quota", Status.FAIL, "acme.bad_answer"),
        ("notjson", Status.FAIL, "acme.bad_answer"),
    ],
)
async def test_each_answer_is_its_finding(
    api: str, monkeypatch: pytest.MonkeyPatch, case: str, status: Status, code: str
) -> None:
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    [finding] = await run_probe(f"{api}/{case}")
    assert (finding.status, finding.code) == (status, code)
    assert finding.evidence["endpoint"] == "api"


async def test_the_exhausted_quota_names_account_and_limit(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    [finding] = await run_probe(f"{api}/exhausted")
    assert finding.subject == "floe"
    assert (finding.evidence["used"], finding.evidence["limit"]) == (1000, 1000)


async def test_no_token_is_an_auth_failure_saying_so(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACME_TOKEN", raising=False)
    [finding] = await run_probe(f"{api}/plenty")
    assert finding.code == "acme.auth_failed"
    assert finding.evidence["token_configured"] is False
    assert "ACME_TOKEN" in finding.summary


async def test_a_closed_port_is_unreachable_with_the_reason() -> None:
    [finding] = await run_probe(f"http://127.0.0.1:{closed_port()}")
    assert (finding.code, finding.evidence["reason"]) == ("acme.unreachable", "refused")
