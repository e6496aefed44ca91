"""What the kubelet's containers print, served by the API server's ``pods/{name}/log`` as on a cluster.

Pinned through the real client: the app container's log by default, an init container's with ``container``,
``tailLines``, the run before a restart with ``previous`` (and the 400 when there is none), ``follow`` receiving
what is printed later. The API server finds the node's logs under the lab's state folder (``$FLOE_LAB_STATE``, set
for every lab process; set here for the in-process server).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from kubernetes_asyncio.client.rest import ApiException

from floe_lab.kube import KubeStore
from tests.support.kubelet import NS, TOKEN, eventually, running_lab, waiting_reason, workload

DATA = [{"name": "data", "emptyDir": {}}]
COUNTING = 'n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; echo "run $n"; echo "end of $n"'


def _shell(name: str, script: str) -> dict[str, Any]:
    mounts = [{"name": "data", "mountPath": "/data"}]
    return {"name": name, "image": "busybox:1.36", "command": ["sh", "-c", script], "volumeMounts": mounts}


async def test_logs_by_container_with_tail_previous_and_follow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOE_LAB_STATE", str(tmp_path / "state"))
    async with running_lab(tmp_path, store=KubeStore(), backoff_base=60.0, backoff_max=60.0) as lab:
        crasher = workload("Deployment", "crasher", "exec", _shell("app", f"{COUNTING}; exit 1"), volumes=DATA)
        crasher["spec"]["template"]["spec"]["initContainers"] = [_shell("init", "echo init says hi")]
        waits = "echo first; while [ ! -e /data/go ]; do sleep 0.1; done; echo second; sleep 600"
        ticker = workload("Deployment", "ticker", "exec", _shell("tick", waits), volumes=DATA)
        await lab.apply(crasher, ticker)

        async def crash_looping() -> dict[str, Any] | None:
            pods = await lab.pods("crasher-")
            return pods[0] if pods and waiting_reason(pods[0]) == "CrashLoopBackOff" else None

        name = (await eventually(crash_looping, within=30, what="CrashLoopBackOff"))["metadata"]["name"]
        core = lab.core
        assert await core.read_namespaced_pod_log(name, NS) == "run 2\nend of 2\n"  # the one app container
        assert await core.read_namespaced_pod_log(name, NS, container="app", tail_lines=1) == "end of 2\n"
        assert await core.read_namespaced_pod_log(name, NS, container="app", previous=True) == "run 1\nend of 1\n"
        assert await core.read_namespaced_pod_log(name, NS, container="init") == "init says hi\n"
        with pytest.raises(ApiException) as none_before:
            await core.read_namespaced_pod_log(name, NS, container="init", previous=True)
        assert none_before.value.status == 400
        message = json.loads(none_before.value.body or b"{}")["message"]
        assert message == f'previous terminated container "init" in pod "{name}" not found'

        ticking = (await eventually(lambda: lab.pods("ticker-"), what="ticker pod"))[0]
        go = lab.state / "pods" / ticking["metadata"]["uid"] / "volumes" / "data" / "go"
        assert await _follow(lab.url, ticking["metadata"]["name"], go) == "first\nsecond\n"


async def _follow(url: str, pod: str, go: Path) -> str:
    """``logs -f`` from the first line on; the container prints its second line only once ``go`` exists."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    path = f"/api/v1/namespaces/{NS}/pods/{pod}/log"
    seen = ""
    with anyio.fail_after(30):
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=None) as http:
            while "first" not in seen:  # until the container has started and printed
                response = await http.get(path)
                seen = response.text if response.status_code == 200 else ""
                await anyio.sleep(0.1)
            async with http.stream("GET", path, params={"follow": "true"}) as stream:
                seen = ""
                async for chunk in stream.aiter_text():
                    seen += chunk
                    if seen == "first\n":
                        await anyio.Path(go).touch()  # printed after the stream began: only a follower sees it arrive
                    if "second" in seen:
                        break
    return seen
