"""The run's HTTP transport: plain http loads no CA certificates; https still verifies, with a real TLS server."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
import trustme
from aiohttp import web
from anyio.abc import SocketStream

from floe_agents.transport import RunTransport, run_client

pytestmark = pytest.mark.anyio


async def _hello(request: web.Request) -> web.Response:
    return web.json_response({"scheme": request.scheme})


@pytest.fixture
async def servers() -> AsyncIterator[tuple[str, str, trustme.CA]]:
    """(plain http URL, https URL with a certificate from a private CA, that CA)."""
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    app = web.Application()
    app.router.add_get("/", _hello)
    runner = web.AppRunner(app)
    await runner.setup()
    plain, tls = web.TCPSite(runner, "127.0.0.1", 0), web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await plain.start()
    await tls.start()
    ports = [site._server.sockets[0].getsockname()[1] for site in (plain, tls)]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{ports[0]}/", f"https://127.0.0.1:{ports[1]}/", ca
    await runner.cleanup()


async def test_plain_http_never_loads_ca_certificates(servers: tuple[str, str, trustme.CA]) -> None:
    transport = RunTransport()
    async with httpx.AsyncClient(transport=transport) as http:
        for _ in range(3):
            assert (await http.get(servers[0])).json() == {"scheme": "http"}
    assert not transport.tls_loaded


async def test_https_is_verified_against_the_system_trust_store(servers: tuple[str, str, trustme.CA]) -> None:
    """The private CA is not trusted, so the handshake must fail: the lazily built transport verifies."""
    transport = RunTransport()
    async with httpx.AsyncClient(transport=transport) as http:
        assert (await http.get(servers[0])).status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.get(servers[1])
    assert transport.tls_loaded


async def test_https_answers_once_the_ca_is_trusted(
    servers: tuple[str, str, trustme.CA], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    """SSL_CERT_FILE is honoured like httpx's own default (the way a cluster CA bundle is handed to the tool)."""
    path = f"{tmp_path}/ca.pem"
    servers[2].cert_pem.write_to_path(path)
    monkeypatch.setenv("SSL_CERT_FILE", path)
    async with httpx.AsyncClient(transport=RunTransport()) as http:
        assert (await http.get(servers[1])).json() == {"scheme": "https"}


async def test_unloadable_ca_certificates_are_a_connect_error_not_a_crash(
    servers: tuple[str, str, trustme.CA], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", f"{tmp_path}/missing.pem")
    async with httpx.AsyncClient(transport=RunTransport()) as http:
        assert (await http.get(servers[0])).status_code == 200  # plain http is unaffected
        with pytest.raises(httpx.ConnectError, match="cannot load the CA certificates"):
            await http.get(servers[1])


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """A forward HTTP proxy that records each request line and answers 200 itself."""
    seen: list[str] = []

    async def handle(stream: SocketStream) -> None:
        async with stream:
            head = b""
            while b"\r\n\r\n" not in head:
                head += await stream.receive()
            seen.append(head.split(b"\r\n", 1)[0].decode())
            await stream.send(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nproxied")

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        yield f"http://127.0.0.1:{port}", seen
        tg.cancel_scope.cancel()


async def test_a_proxy_named_by_the_environment_is_used(
    proxy: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx only applies HTTP_PROXY to a client without its own transport: run_client leaves it to httpx then."""
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    async with run_client() as http:
        assert isinstance(http._transport, RunTransport)  # no proxy: our transport
    monkeypatch.setenv("HTTP_PROXY", proxy[0])
    async with run_client() as http:
        answer = await http.get("http://floe-infra-polaris.floe.svc:8181/api/catalog/v1/config")
    assert answer.text == "proxied"
    assert proxy[1] == ["GET http://floe-infra-polaris.floe.svc:8181/api/catalog/v1/config HTTP/1.1"]
