"""The stand-in as its own process (``python -m floe_lab.kube``), reached only over the network."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import anyio
from kubernetes_asyncio import client

from floe_lab.kube import client_configuration
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
