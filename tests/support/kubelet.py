"""Shared plumbing for the lab kubelet tests: an API server, a kubelet, tiny real launchers.

Why real processes: the kubelet's whole point is that the API follows what really happened, so every test runs
real ``python -c`` children on loopback and checks the kernel's view (a TCP connect, ``/proc``) as well as the API's.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
from kubernetes_asyncio import client

from floe_lab import procs
from floe_lab.kube import KubeStore, client_configuration, serve
from floe_lab.kubelet import Kubelet, LaunchContext, Launcher

PY = sys.executable
NS = "floe"
TOKEN = "kubelet-test-token"

SERVER = """
import os, socket, sys
port = int(sys.argv[1])
print("env", {k: v for k, v in os.environ.items() if k.startswith(("APP_", "FLOE_LAB_SERVICES", "HOSTNAME"))})
print("has-token", "FLOE_LAB_KUBE_TOKEN" in os.environ)
for path in sys.argv[2:]:
    print("file", path, open(path).read())
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(16)
print("READY", port, flush=True)
while True:
    c, _ = s.accept(); c.sendall(str(os.getpid()).encode()); c.close()
"""


def py(code: str, *args: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code), *args]


async def serve_launcher(ctx: LaunchContext) -> procs.ProcSpec:
    """A TCP server on the ``http`` port that answers with its PID; prints its env and mounted files first."""
    port = ctx.ports["http"]
    files = [str(p / "app.conf") for p in ctx.mounts.values() if (p / "app.conf").exists()]
    return procs.ProcSpec(
        name=ctx.pod_name,
        argv=py(SERVER, str(port), *files),
        env=dict(ctx.env),
        ready=[procs.LogReady("^READY"), procs.TcpReady(port)],
    )


async def crash_launcher(ctx: LaunchContext) -> procs.ProcSpec:
    return procs.ProcSpec(name=ctx.pod_name, argv=py("import sys; print('boom', flush=True); sys.exit(3)"))


def exit_launcher(code: int) -> Launcher:
    async def launch(ctx: LaunchContext) -> procs.ProcSpec:
        return procs.ProcSpec(name=ctx.pod_name, argv=py(f"print('job ran'); raise SystemExit({code})"))

    return launch


async def probe_launcher(ctx: LaunchContext) -> procs.ProcSpec:
    """Connects to Service ``web`` on its *Service* port by name, as a pod would (cluster DNS via podnet)."""
    code = (
        "import socket; s = socket.create_connection(('web.floe.svc.cluster.local', 80), 2); print('got', s.recv(64))"
    )
    return procs.ProcSpec(name=ctx.pod_name, argv=py(code), env=dict(ctx.env))


LAUNCHERS: dict[str, Launcher] = {
    "serve": serve_launcher,
    "crash": crash_launcher,
    "job:ok": exit_launcher(0),
    "job:fail": exit_launcher(1),
    "job:probe-web": probe_launcher,
}


def launchers() -> dict[str, Launcher]:
    """For ``python -m floe_lab.kubelet --launchers tests.support.kubelet:launchers``."""
    return dict(LAUNCHERS)


def labels(app: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": "floe-test"}


def container(
    name: str, *, ports: Mapping[str, int] | None = None, env: list[Any] | None = None, mounts: list[Any] | None = None
) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": f"floe-lab/{name}:local"}
    if ports:
        c["ports"] = [{"name": n, "containerPort": p} for n, p in ports.items()]
    if env:
        c["env"] = env
    if mounts:
        c["volumeMounts"] = mounts
    return c


def workload(
    kind: str, name: str, launch: str, ctr: dict[str, Any], *, volumes: list[Any] | None = None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [ctr], "restartPolicy": "Never" if kind == "Job" else "Always"}
    if volumes:
        spec["volumes"] = volumes
    template = {"metadata": {"labels": labels(name), "annotations": {"lab.floe.dev/launch": launch}}, "spec": spec}
    if kind == "Job":
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"backoffLimit": 0, "template": template},
        }
    body: dict[str, Any] = {"replicas": 1, "selector": {"matchLabels": labels(name)}, "template": template}
    if kind == "StatefulSet":
        body["serviceName"] = name
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": NS, "labels": labels(name)},
        "spec": body,
    }


def service(name: str, port: int, target: str | int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"selector": labels(name), "ports": [{"name": "http", "port": port, "targetPort": target}]},
    }


@dataclass
class Lab:
    """One test's cluster: the API (raw JSON through the real client), the state folder, the kubelet."""

    api_client: Any
    state: Path
    url: str

    @property
    def core(self) -> Any:
        return client.CoreV1Api(self.api_client)

    async def request(self, method: str, path: str, body: Any = None) -> Any:
        """Plain HTTP to the API (the typed client cannot read every status the stand-in returns on create)."""
        async with httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            response = await http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def delete(self, path: str) -> Any:
        return await self.request("DELETE", path)

    async def pods(self, prefix: str = "") -> list[dict[str, Any]]:
        items = (await self.get(f"/api/v1/namespaces/{NS}/pods"))["items"]
        return [p for p in items if p["metadata"]["name"].startswith(prefix)]

    async def events(self, name_prefix: str = "") -> list[dict[str, Any]]:
        items = (await self.get(f"/api/v1/namespaces/{NS}/events"))["items"]
        return [e for e in items if e["involvedObject"]["name"].startswith(name_prefix)]

    async def apply(self, *objects: dict[str, Any]) -> None:
        for obj in objects:
            await self.request("POST", collection(obj), obj)


def collection(obj: Mapping[str, Any]) -> str:
    """The collection URL of a manifest in namespace ``floe``."""
    plural = {
        "Deployment": "deployments",
        "StatefulSet": "statefulsets",
        "Job": "jobs",
        "Service": "services",
        "Secret": "secrets",
        "ConfigMap": "configmaps",
        "Pod": "pods",
    }[obj["kind"]]
    prefix = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
    return f"{prefix}/namespaces/{NS}/{plural}"


async def eventually(check: Callable[[], Awaitable[Any]], within: float = 10.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail with its last value after ``within`` seconds."""
    deadline, last = time.monotonic() + within, None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await anyio.sleep(0.1)
    raise AssertionError(f"{what} not reached in {within}s; last: {last!r}")


def read_text(path: str | Path) -> str:
    """A file's text (sync: for assertions about what a pod process wrote)."""
    return Path(path).read_text()


def process_exists(pid: str | int) -> bool:
    return Path(f"/proc/{pid}").exists()


def container_status(pod: Mapping[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return dict(statuses[0])


def waiting_reason(pod: Mapping[str, Any]) -> str | None:
    reason = (container_status(pod).get("state") or {}).get("waiting", {}).get("reason")
    return None if reason is None else str(reason)


def is_ready(pod: Mapping[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions", []))


async def answer(port: int) -> str | None:
    """What the test server on ``port`` answers (its PID), or None when nothing listens."""
    try:
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            return str((await stream.receive()).decode())
    except (OSError, anyio.EndOfStream):
        return None


@asynccontextmanager
async def running_api(
    tmp_path: Path, *, ports: Mapping[str, Mapping[str, int]] | None = None, store: KubeStore | None = None
) -> AsyncIterator[Lab]:
    """An API server with namespace ``floe`` and a state folder holding ``ports.json`` — no kubelet yet."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "ports.json").write_text(json.dumps(ports or {}))
    async with (
        serve(store or KubeStore(), token=TOKEN) as url,
        client.ApiClient(client_configuration(url, TOKEN)) as api,
    ):
        await client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
        yield Lab(api, state, url)


@asynccontextmanager
async def running_lab(
    tmp_path: Path,
    *,
    ports: Mapping[str, Mapping[str, int]] | None = None,
    launcher_table: Mapping[str, Launcher] | None = None,
    store: KubeStore | None = None,
    **kubelet_args: Any,
) -> AsyncIterator[Lab]:
    """API server + in-process kubelet (fast back-off); on exit no pod process may be left."""
    async with running_api(tmp_path, ports=ports, store=store) as lab:
        args = {"backoff_base": 0.2, "backoff_max": 1.0, "stop_grace": 2.0, **kubelet_args}
        async with Kubelet(lab.url, TOKEN, lab.state, launcher_table or LAUNCHERS, **args):
            yield lab
        assert procs.leftover_pids(lab.state) == [], "the kubelet left pod processes behind"
