"""The lab's PKI and kubeconfig (``floe_lab/kubeconfig.py``): owner-only files, and a kubeconfig that a kubeconfig
client (here ``kubernetes_asyncio``, as floe-agents' ``kubernetes: {mode: kubeconfig}`` loads it) uses to reach the
stand-in over TLS, trusting the lab's CA and nothing else."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kubernetes_asyncio import client, config

from floe_lab.kube import KubeStore, serve_endpoints, serving_context
from floe_lab.kubeconfig import issue_pki, write_kubeconfig


async def test_a_kubeconfig_client_reaches_the_stand_in_over_tls_with_the_lab_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy"):  # kubernetes_asyncio's session trusts the environment's proxies
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    pki = issue_pki(tmp_path)
    async with serve_endpoints(KubeStore(), token="t", tls=serving_context(pki.serving_cert, pki.serving_key)) as up:
        assert up.https is not None and up.https.startswith("https://127.0.0.1:")
        path = write_kubeconfig(tmp_path, up.https, pki, "t")
        for written in (path, pki.serving_key, pki.ca_cert):
            assert stat.S_IMODE(written.stat().st_mode) == 0o600, written
        doc = yaml.safe_load(path.read_text())
        assert doc["contexts"][0]["context"]["namespace"] == "floe"

        configuration: Any = client.Configuration()
        await config.load_kube_config(config_file=str(path), client_configuration=configuration)
        async with client.ApiClient(configuration) as api:
            names = [n.metadata.name for n in (await client.CoreV1Api(api).list_namespace()).items]
        assert "default" in names

        async with httpx.AsyncClient(trust_env=False) as untrusting:  # certifi's CAs: the lab's CA is not among them
            with pytest.raises(httpx.ConnectError) as refused:
                await untrusting.get(f"{up.https}/version")
        assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)
        async with httpx.AsyncClient(
            verify=ssl.create_default_context(cafile=pki.ca_cert), trust_env=False
        ) as trusting:
            assert (await trusting.get(f"{up.https}/api/v1/namespaces")).status_code == 401  # TLS, then auth
            assert (await trusting.get(f"{up.http}/version")).status_code == 200  # and plain HTTP as before
