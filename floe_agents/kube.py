"""The Kubernetes API client a run shares, built from the targets file (URL + token, kubeconfig, in-cluster).

One ``kubernetes_asyncio`` ApiClient per run, opened and closed by the swarm, so probes never load kubeconfig
themselves and a missing or broken kubeconfig becomes one clear problem instead of a crash in every probe.
``kubernetes_asyncio`` is imported only when a client is opened: it is most of a cold start otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # kubernetes_asyncio costs ~1 s to import: only a run that talks to a cluster pays for it
    from kubernetes_asyncio import client

from floe_agents.config.targets import KubernetesTarget
from floe_agents.transport import USER_AGENT

__all__ = ["OPEN_TIMEOUT_S", "KubeUnavailableError", "open_kube"]

# Below the cluster probes' own timeouts, so they report why there is no client rather than just timing out.
# kubernetes_asyncio does not kill an exec credential plugin it stops waiting for: the plugin runs on by itself.
OPEN_TIMEOUT_S = 10.0


class KubeUnavailableError(Exception):
    """The targets ask for a Kubernetes API that cannot be configured (no kubeconfig, not in a pod, ...)."""


@asynccontextmanager
async def open_kube(target: KubernetesTarget) -> AsyncIterator[client.ApiClient | None]:
    """An ApiClient for ``target`` (None when ``mode: none``); KubeUnavailableError when it cannot be set up."""
    if target.mode == "none":
        yield None
        return
    from kubernetes_asyncio import client, config  # noqa: PLC0415 - ~1 s: only a run with a cluster pays it

    configuration = client.Configuration()
    if target.mode == "url" and not target.url:
        raise KubeUnavailableError("kubernetes.mode is 'url' but kubernetes.url is not set")
    try:
        if target.mode == "url":
            configuration.host = target.url
            if target.token is not None:
                configuration.api_key = {"BearerToken": target.token.get_secret_value()}
                configuration.api_key_prefix = {"BearerToken": "Bearer"}
        elif target.mode == "in-cluster":
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            await config.load_kube_config(
                config_file=target.kubeconfig, context=target.context, client_configuration=configuration
            )
    except Exception as exc:
        raise KubeUnavailableError(f"cannot configure the Kubernetes client ({target.mode}): {exc}") from None
    configuration.verify_ssl = target.verify_tls
    async with client.ApiClient(configuration) as api:
        api.user_agent = USER_AGENT  # the cluster's audit log (and the lab's counters) can tell our requests apart
        yield api
