"""A lab for in-cluster tests: the API stand-in on plain HTTP *and* HTTPS (the lab's own CA, as ``lab up`` makes
it), a kubelet that points pods at the HTTPS port, and a kubeconfig for the real ``kubectl``.

Why HTTPS: a pod's client (kubernetes-asyncio's ``load_incluster_config()``) only talks TLS to the API and verifies
it against the ``ca.crt`` the kubelet gave it, and kubectl only sends a token over TLS. Tests whose subject needs the
API's TokenRequest (another part of the stand-in) skip with :data:`NO_TOKEN_REQUEST` until it is served.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes_asyncio import client

from floe_lab import procs
from floe_lab.kube import KubeStore, client_configuration, serve_endpoints, serving_context
from floe_lab.kubeconfig import issue_pki, write_kubeconfig
from floe_lab.kubelet import EXEC_LAUNCHER, LAUNCH_ANNOTATION, Kubelet, Launcher
from tests.support.kubectl import kubectl_env
from tests.support.kubelet import LAUNCHERS, NS, TOKEN, Lab, eventually, read_text

NO_TOKEN_REQUEST = "the API stand-in does not serve TokenRequest (POST .../serviceaccounts/NAME/token) yet"


@dataclass
class InCluster:
    """The running lab: the API (as :class:`Lab`), its HTTPS URL and CA, and kubectl's environment."""

    lab: Lab
    https: str
    ca: Path
    kubectl: dict[str, str]

    @property
    def https_port(self) -> int:
        return int(self.https.rsplit(":", 1)[1])


async def _token_request_served(url: str) -> bool:
    """Whether the API serves TokenRequest: asked for an account that does not exist, it says which is missing."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}}
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        response = await http.post(f"/api/v1/namespaces/{NS}/serviceaccounts/no-such-account/token", json=body)
    return response.status_code == 404 and "no-such-account" in response.text


@asynccontextmanager
async def incluster_lab(
    tmp_path: Path,
    *,
    launcher_table: Mapping[str, Launcher] | None = None,
    needs_tokens: bool = False,
    **kubelet_args: Any,
) -> AsyncIterator[InCluster]:
    """API (HTTP + HTTPS, namespace ``floe``) and an in-process kubelet; on exit no pod process may be left.

    ``needs_tokens``: skip the test (before the kubelet starts) when the API does not serve TokenRequest.
    """
    state = tmp_path / "state"
    state.mkdir()
    (state / "ports.json").write_text("{}")
    pki = issue_pki(tmp_path)
    tls = serving_context(pki.serving_cert, pki.serving_key)
    async with (
        serve_endpoints(KubeStore(), token=TOKEN, tls=tls) as endpoints,
        client.ApiClient(client_configuration(endpoints.http, TOKEN)) as api,
    ):
        assert endpoints.https is not None
        await client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
        if needs_tokens and not await _token_request_served(endpoints.http):
            pytest.skip(NO_TOKEN_REQUEST)
        lab = Lab(api, state, endpoints.http)
        kubeconfig = write_kubeconfig(tmp_path, endpoints.https, pki, TOKEN)
        args = {"backoff_base": 0.2, "backoff_max": 1.0, "stop_grace": 2.0, **kubelet_args}
        table = launcher_table or LAUNCHERS
        async with Kubelet(endpoints.http, TOKEN, state, table, api_https=endpoints.https, ca_file=pki.ca_cert, **args):
            yield InCluster(lab, endpoints.https, pki.ca_cert, kubectl_env(tmp_path, kubeconfig))
        assert procs.leftover_pids(state) == [], "the kubelet left pod processes behind"


def python_job(name: str, code: str, *, namespace: str = NS, **pod_spec: Any) -> dict[str, Any]:
    """A Job whose one container runs ``python -c CODE`` on the node's ``exec`` image (this interpreter)."""
    container = {"name": "main", "image": "python:3.11-slim", "command": [sys.executable, "-c", textwrap.dedent(code)]}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {LAUNCH_ANNOTATION: EXEC_LAUNCHER}},
                "spec": {"restartPolicy": "Never", "containers": [container], **pod_spec},
            },
        },
    }


async def job_output(lab: Lab, name: str, *, namespace: str = NS, within: float = 30) -> str:
    """The log of the Job's pod (the node's file) once the Job has finished (either way)."""

    async def finished() -> dict[str, Any] | None:
        job = await lab.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}")
        conditions = (job.get("status") or {}).get("conditions") or []
        done = any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in conditions)
        return job if done else None

    await eventually(finished, within=within, what=f"job {namespace}/{name} finished")
    pods = (await lab.get(f"/api/v1/namespaces/{namespace}/pods?labelSelector=job-name%3D{name}"))["items"]
    assert pods, f"no pod of job {name}"
    log = lab.state / "logs" / f"{pods[0]['metadata']['name']}.log"
    return read_text(log) if log.exists() else ""  # none: the container never started


def json_lines(text: str) -> dict[str, Any]:
    """``{key: value}`` from the lines of a pod's output that are JSON objects."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        if line.startswith("{"):
            out.update(json.loads(line))
    return out
