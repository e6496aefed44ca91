"""Fixtures for the Kubernetes stand-in's tests: a store, the stand-in serving it on loopback, and the real
``kubernetes_asyncio`` client talking to it (with the ``floe`` namespace created); and the stand-in over TLS with
a kubeconfig, for the real ``kubectl`` (``kubectl_cluster``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client

from floe_lab.kube import KubeStore, client_configuration, serve
from tests.support.kubectl import Cluster
from tests.support.kubectl import kubectl_cluster as start_kubectl_cluster


@pytest.fixture
def kube_token() -> str:
    """The bearer token the stand-in is served with."""
    return "lab-token"


@pytest.fixture
def kube_store() -> KubeStore:
    return KubeStore()


@pytest.fixture
async def kube_url(kube_store: KubeStore, kube_token: str) -> AsyncIterator[str]:
    async with serve(kube_store, token=kube_token) as url:
        yield url


@pytest.fixture
async def kube_api(kube_url: str, kube_token: str) -> AsyncIterator[Any]:
    async with client.ApiClient(client_configuration(kube_url, kube_token)) as api:
        core: Any = client.CoreV1Api(api)
        await core.create_namespace({"metadata": {"name": "floe"}})
        yield api


@pytest.fixture
async def kubectl_cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    """The stand-in over TLS (namespace ``floe``) and a clean environment for kubectl to reach it with."""
    async with start_kubectl_cluster(tmp_path) as cluster:
        yield cluster
