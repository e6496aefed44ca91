"""Services have ClusterIPs: a pod may resolve a Service name once and connect to (address, *Service* port).

Why this matters: floe-agents in-cluster resolves a host with ``getaddrinfo(host, None)`` and then connects to the
Service port, and psycopg resolves in Python and hands libpq the address with the Service port. Both only work if
something answers at (ClusterIP, Service port) — the kubelet's kube-proxy relay — and a port the Service lacks,
or a Service with no backend, must still be refused.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
from pathlib import Path

import anyio
import pytest
from anyio.abc import SocketStream

from floe_lab import procs
from floe_lab.kubelet import LaunchContext
from floe_lab.kubelet.clusterips import ServiceProxy
from floe_lab.network import CLUSTER_IP_NETWORK, ServiceTable, assign_cluster_ips
from tests.support.incluster import job_output, json_lines, python_job
from tests.support.kubelet import LAUNCHERS, container, eventually, py, running_lab, service, workload

HTTP_SERVER = """
import http.server, sys
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"hello from web"
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hello)
print("READY", flush=True)
server.serve_forever()
"""


async def http_launcher(ctx: LaunchContext) -> procs.ProcSpec:
    port = ctx.ports["http"]
    return procs.ProcSpec(
        name=ctx.pod_name, argv=py(HTTP_SERVER, str(port)), env=dict(ctx.env), ready=[procs.TcpReady(port)]
    )


IN_POD = """
import asyncio, json, socket, urllib.request
import psycopg
from psycopg.conninfo import conninfo_attempts_async, conninfo_to_dict

def connect(address, port):
    try:
        socket.create_connection((address, port), 3).close()
        return "connected"
    except ConnectionRefusedError:
        return "refused"

address = socket.getaddrinfo("web", None, type=socket.SOCK_STREAM)[0][4][0]  # resolve once, no port
full = socket.getaddrinfo("web.floe.svc.cluster.local", 80, type=socket.SOCK_STREAM)[0][4]
print(json.dumps({"address": address, "full": list(full)}))
print(json.dumps({"body": urllib.request.urlopen(f"http://{address}:80/", timeout=3).read().decode()}))
print(json.dumps({"wrong_port": connect(address, 81)}))
ghost = socket.getaddrinfo("ghost.floe.svc", 80, type=socket.SOCK_STREAM)[0][4][0]
print(json.dumps({"ghost": ghost, "ghost_connect": connect(ghost, 80)}))
try:
    socket.getaddrinfo("web-nope", 80)
    print(json.dumps({"bare": "resolved"}))
except socket.gaierror:
    print(json.dumps({"bare": "nxdomain"}))
attempts = asyncio.run(conninfo_attempts_async(conninfo_to_dict("host=web port=80 dbname=x user=x")))
print(json.dumps({"attempt": [attempts[0]["hostaddr"], attempts[0]["port"]]}))
for name, port in (("libpq", 5432), ("libpq_wrong", 5433)):  # libpq itself, given the address by psycopg
    try:
        psycopg.connect(f"host=pid port={port} dbname=x user=x sslmode=disable connect_timeout=3").close()
    except psycopg.OperationalError as exc:
        print(json.dumps({name: str(exc)}))
"""


async def _cluster_ips(state: Path) -> dict[str, str]:
    table = json.loads(await anyio.Path(state / "services.json").read_text())
    return dict(table.get("cluster_ips") or {})


async def _answers(address: str, port: int) -> bool:
    try:
        async with await anyio.connect_tcp(address, port):
            return True
    except OSError:
        return False


async def test_a_pod_connects_to_a_services_cluster_ip_on_the_service_port(tmp_path: Path) -> None:
    table = {**LAUNCHERS, "http": http_launcher}
    async with running_lab(tmp_path, launcher_table=table) as lab:
        ghost = service("ghost", 80, "http")  # selects nothing: resolves, and refuses
        web_pods = workload("Deployment", "web", "http", container("web", ports={"http": 8080}))
        pid_pods = workload("Deployment", "pid", "serve", container("pid", ports={"http": 5432}))  # not Postgres
        await lab.apply(service("web", 80, "http"), ghost, web_pods, service("pid", 5432, "http"), pid_pods)
        ips = await eventually(lambda: _cluster_ips(lab.state), what="ClusterIPs in services.json")
        web = ips["web"]
        await eventually(lambda: _answers(web, 80), within=20, what="web's ClusterIP answering on port 80")
        await eventually(lambda: _answers(ips["pid"], 5432), within=20, what="pid's ClusterIP answering")
        await lab.apply(python_job("reach", IN_POD))
        out = json_lines(await job_output(lab, "reach"))
        curl = shutil.which("curl")
        # The relay runs in this process's event loop: the C client runs beside it, not blocking it.
        fetched = (
            (await anyio.run_process([curl, "-sS", "--max-time", "5", f"http://{web}:80/"])).stdout if curl else b""
        )
        on_wrong_port = await _answers(web, 81)
    assert out["address"] == web and in_cluster_range(web)
    assert out["full"] == [web, 80]  # the Service's own port, not the real one behind it
    assert out["body"] == "hello from web"
    assert out["wrong_port"] == "refused"
    assert out["ghost"] == ips["ghost"] != web and out["ghost_connect"] == "refused"
    assert out["bare"] == "nxdomain"
    assert out["attempt"] == [web, "80"]
    assert "expected authentication request from server" in out["libpq"]  # reached the backend: it answered
    assert "Connection refused" in out["libpq_wrong"]
    assert not on_wrong_port
    if curl is None:
        pytest.skip("curl is not on PATH: the C client's view of the ClusterIP is not checked")
    assert fetched == b"hello from web"


def in_cluster_range(address: str) -> bool:
    return ipaddress.IPv4Address(address) in CLUSTER_IP_NETWORK


def test_cluster_ips_are_stable_per_lab_and_differ_between_labs() -> None:
    services = {"web": [80], "db": [5432], "kubernetes": [443]}
    first = assign_cluster_ips(services, "/labs/a")
    assert first == assign_cluster_ips(dict(reversed(services.items())), "/labs/a")
    assert len(set(first.values())) == 3
    assert assign_cluster_ips({**services, "new": [1]}, "/labs/a", first).items() >= first.items()
    assert first != assign_cluster_ips(services, "/labs/b")
    table = ServiceTable({"services": {"web": {"80": "127.0.0.1:5"}}, "cluster_ips": first, "namespaces": ["floe"]})
    assert table.cluster_ip("web.floe.svc.cluster.local") == first["web"]
    assert table.route("web.floe", 80) == ("127.0.0.1", 5)
    assert all(in_cluster_range(ip) for ip in first.values())


async def _reply(address: str, port: int) -> bytes | None:
    try:
        async with await anyio.connect_tcp(address, port) as stream:
            return await stream.receive()
    except (OSError, anyio.EndOfStream):
        return None


async def test_a_cluster_ip_listens_only_while_its_backend_does(tmp_path: Path) -> None:
    """kube-proxy rewrites the SYN, so a backend that does not listen refuses the client; the relay must not
    accept and then hang up instead (a check would read "connected" for a dead backend)."""
    proxy = await ServiceProxy.load(tmp_path)
    if not proxy.enabled:
        pytest.skip("this host cannot bind loopback addresses besides 127.0.0.1")
    (backend,) = procs.free_ports(1)
    ip = proxy.assign({"services": {"db": {"5432": f"127.0.0.1:{backend}"}}, "namespaces": ["floe"]})["cluster_ips"][
        "db"
    ]

    async def pong(client: SocketStream) -> None:
        async with client:
            await client.send(b"pong")

    async with anyio.create_task_group() as tg:
        tg.start_soon(proxy.run)
        await anyio.sleep(0.6)  # a few of the proxy's ticks
        assert await _refused(ip, 5432)  # refused, not accepted and hung up
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=backend)
        async with listener, anyio.create_task_group() as serving:
            serving.start_soon(listener.serve, pong)
            assert await eventually(lambda: _reply(ip, 5432), what="the relay once the backend listens") == b"pong"
            serving.cancel_scope.cancel()
        await eventually(lambda: _refused(ip, 5432), what="refused again once the backend is gone")
        tg.cancel_scope.cancel()


async def _refused(address: str, port: int) -> bool:
    return not await _answers(address, port)
