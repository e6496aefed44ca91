"""The stand-in as its own process (``python -m floe_lab.kube``), reached only over the network (plain HTTP, and
HTTPS with the lab's certificate when given a secure port)."""

from __future__ import annotations

import base64
import json
import re
import ssl
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
from kubernetes_asyncio import client

from floe_lab.kube import client_configuration
from floe_lab.kubeconfig import issue_pki
from tests.support.processes import first_line


async def test_runs_as_a_process_with_state_and_stops_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "seeded", "namespace": "floe"}}
    secret["stringData"] = {"k": "v"}
    state.write_text(json.dumps([secret]))
    command = [sys.executable, "-m", "floe_lab.kube", "--port", "0", "--token", "proc-token"]
    process = await anyio.open_process([*command, "--state", str(state)])
    try:
        assert process.stdout is not None
        with anyio.fail_after(10):
            line = await first_line(process.stdout)
        assert line.startswith("READY http://127.0.0.1:"), line
        async with client.ApiClient(client_configuration(line.split()[1], "proc-token")) as api:
            core: Any = client.CoreV1Api(api)
            seeded = await core.read_namespaced_secret("seeded", "floe")
            assert base64.b64decode(seeded.data["k"]) == b"v"
            await core.create_namespaced_config_map("floe", {"metadata": {"name": "from-client"}})
            names = [c.metadata.name for c in (await core.list_namespaced_config_map("floe")).items]
            assert names == ["from-client"]
        process.terminate()
        with anyio.fail_after(10):
            assert await process.wait() == 0  # SIGTERM is a clean shutdown
    finally:
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
            await process.aclose()


async def test_with_a_secure_port_it_also_serves_https_with_the_lab_certificate(tmp_path: Path) -> None:
    pki = issue_pki(tmp_path)
    tls = ["--tls-cert-file", str(pki.serving_cert), "--tls-private-key-file", str(pki.serving_key)]
    command = [sys.executable, "-m", "floe_lab.kube", "--port", "0", "--token", "t", "--secure-port", "0", *tls]
    process = await anyio.open_process(command)
    try:
        assert process.stdout is not None
        with anyio.fail_after(10):
            line = await first_line(process.stdout)
        ready = re.fullmatch(r"READY (http://127\.0\.0\.1:\d+) https=(https://127\.0\.0\.1:\d+)", line)
        assert ready is not None, line
        plain, secure = ready.groups()
        headers = {"Authorization": "Bearer t"}
        trusting = ssl.create_default_context(cafile=pki.ca_cert)
        async with httpx.AsyncClient(verify=trusting, headers=headers, trust_env=False) as http:  # no proxy
            made = await http.post(f"{secure}/api/v1/namespaces", json={"metadata": {"name": "over-tls"}})
            assert made.status_code == 201
            seen = await http.get(f"{plain}/api/v1/namespaces/over-tls")  # one store behind both listeners
            assert seen.json()["metadata"]["name"] == "over-tls"
            counts = (await http.get(f"{plain}/lab/v1/requests")).json()
            assert counts["mutating"] == 1  # the write over TLS is counted like any other
        process.terminate()
        with anyio.fail_after(10):
            assert await process.wait() == 0
    finally:
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
            await process.aclose()
