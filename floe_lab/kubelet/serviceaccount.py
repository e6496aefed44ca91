"""Service-account credentials in every pod: what the ServiceAccount admission plugin, its controllers and the
kubelet give a pod on a cluster, so a program in a lab pod can talk to the API as its ServiceAccount.

Why: ``floe-agents`` runs in-cluster as a CronJob and authenticates through kubernetes-asyncio's
``load_incluster_config()``, which reads ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT`` and the files
``token`` and ``ca.crt`` under ``/var/run/secrets/kubernetes.io/serviceaccount`` (the ``namespace`` file beside them
names the pod's namespace). As a kubelet does for the ``kube-api-access-<suffix>`` projected volume, the token is
asked of the API with a TokenRequest (``POST .../serviceaccounts/{name}/token``, bound to the pod, 3607 s, renewed
after 80 % of its life), for the pod's ``serviceAccountName`` — unless ``automountServiceAccountToken: false`` on
the pod (which wins) or on its ServiceAccount. A token the API refuses is the kubelet's ``FailedMount`` (the pod
waits in ``ContainerCreating`` and is tried again on every sync). The files land in the pod's folder and the
container's mounts map the fixed path there (a container's own mount at that path wins); a Python pod process
finds them at the fixed path through :mod:`floe_lab.podnet` (``FLOE_LAB_SERVICEACCOUNT``). The service-account
controller's part is here too: a ``default`` ServiceAccount in every namespace.

Where the API is for a pod: the HTTPS endpoint and the CA the kubelet is told (``--api-https``, ``--ca-file``), by
default the lab's own — the ``https`` port of the ``kube-apiserver`` the state folder records and
``<state>/pki/ca.crt``. Without both, pods get no credentials and no ``KUBERNETES_SERVICE_*`` (a node with no API
to point them at), and an API that does not serve TokenRequest gives none either (as a cluster without the
ServiceAccount admission plugin).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import structlog

from floe_lab import procs
from floe_lab.kubeconfig import LabPki
from floe_lab.kubelet.api import JsonObj, KubeApi, KubeError
from floe_lab.kubelet.snapshot import Snapshot, is_terminating, key
from floe_lab.kubelet.templates import template_hash
from floe_lab.kubelet.volumes import MountError, sync_folder

__all__ = ["SA_ENV", "SA_PATH", "ApiAccess", "ServiceAccounts", "discover_access", "ensure_default_accounts"]

SA_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
SA_ENV = "FLOE_LAB_SERVICEACCOUNT"  # where a pod process's podnet finds its own credentials
TOKEN_SECONDS = 3607  # what the kubelet asks for the kube-api-access volume
_API_SERVER = "kube-apiserver"
_NOT_SERVED = "the server could not find the requested resource"

_log = structlog.get_logger("floe_lab.kubelet")


@dataclass(frozen=True)
class ApiAccess:
    """How a pod reaches the API: its HTTPS host and port, and the CA that signed its serving certificate."""

    host: str
    port: int
    ca_cert: Path

    def env(self) -> dict[str, str]:
        """The variables every container gets for the ``kubernetes`` Service (its own ``env`` may override them)."""
        port = str(self.port)
        return {
            "KUBERNETES_SERVICE_HOST": self.host,
            "KUBERNETES_SERVICE_PORT": port,
            "KUBERNETES_SERVICE_PORT_HTTPS": port,
            "KUBERNETES_PORT": f"tcp://{self.host}:{port}",
        }


def _recorded_https(state_dir: Path) -> str | None:
    try:
        records = procs.load_records(state_dir)
    except (OSError, ValueError, TypeError):
        return None
    port = next((r.ports.get("https") for r in records if r.name == _API_SERVER), None)
    return f"https://127.0.0.1:{port}" if port else None


def discover_access(state_dir: Path, https_url: str | None = None, ca_file: Path | None = None) -> ApiAccess | None:
    """The API's HTTPS endpoint and CA for pods (see the module docstring); None when either is unknown."""
    url = https_url or _recorded_https(state_dir)
    ca = ca_file or LabPki.under(state_dir).ca_cert
    if not url or not ca.is_file():
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"the API's HTTPS URL must be https://HOST:PORT, got {url!r}")
    return ApiAccess(parts.hostname, parts.port or 443, ca.resolve())


def volume_name(pod: Mapping[str, Any]) -> str:
    """``kube-api-access-<5 characters>``, as the admission plugin names the volume (stable per pod here)."""
    return f"kube-api-access-{template_hash({'uid': pod['metadata'].get('uid')})[:5]}"


def automounts(pod: Mapping[str, Any], account: Mapping[str, Any] | None) -> bool:
    """Whether the pod gets credentials: the pod's ``automountServiceAccountToken`` wins over its ServiceAccount's."""
    own = (pod.get("spec") or {}).get("automountServiceAccountToken")
    if own is not None:
        return bool(own)
    return bool((account or {}).get("automountServiceAccountToken", True))


class ServiceAccounts:
    """The node's token manager: the tokens it holds per pod, and the ServiceAccounts of the last sync."""

    def __init__(self, api: KubeApi, access: ApiAccess | None) -> None:
        self._api, self._access = api, access
        self._accounts: Mapping[tuple[str, str], JsonObj] = {}
        self._tokens: dict[str, tuple[str, float]] = {}  # pod uid -> (token, renew at, monotonic)
        self._unserved_until = 0.0  # the API did not serve TokenRequest: asked again after a minute

    def update(self, snap: Snapshot) -> None:
        self._accounts = snap.by_key("serviceaccounts")

    def env(self) -> dict[str, str]:
        return self._access.env() if self._access is not None else {}

    def forget(self, uid: str) -> None:
        self._tokens.pop(uid, None)

    async def mount(self, pod: JsonObj, pod_dir: Path) -> Path | None:
        """Write the pod's ``token``, ``ca.crt`` and ``namespace`` and return their folder (None: no credentials).

        Raises :class:`MountError` with the kubelet's words when the API refuses the token.
        """
        if self._access is None or time.monotonic() < self._unserved_until:
            return None
        namespace = str(pod["metadata"].get("namespace") or "default")
        account = str((pod.get("spec") or {}).get("serviceAccountName") or "default")
        if not automounts(pod, self._accounts.get((namespace, account))):
            return None
        token = await self._token(pod, namespace, account)
        if token is None:
            return None
        ca = await anyio.Path(self._access.ca_cert).read_bytes()
        folder = pod_dir / "volumes" / volume_name(pod)
        files = {"token": token.encode(), "ca.crt": ca, "namespace": namespace.encode()}
        await anyio.to_thread.run_sync(sync_folder, folder, files, 0o644)
        return folder

    async def _token(self, pod: JsonObj, namespace: str, account: str) -> str | None:
        uid = str(pod["metadata"]["uid"])
        held = self._tokens.get(uid)
        if held is not None and time.monotonic() < held[1]:
            return held[0]
        spec = {
            "audiences": [],
            "expirationSeconds": TOKEN_SECONDS,
            "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": pod["metadata"]["name"], "uid": uid},
        }
        try:
            answer = await self._api.request_token(namespace, account, spec)
        except KubeError as exc:
            if exc.status == 405 or (exc.status == 404 and exc.message == _NOT_SERVED):
                if not self._unserved_until:
                    _log.warning("the API serves no TokenRequest: pods get no service-account credentials")
                self._unserved_until = time.monotonic() + 60.0
                return None
            raise MountError(
                f'MountVolume.SetUp failed for volume "{volume_name(pod)}" : failed to fetch token: {exc.message}'
            ) from exc
        status = answer.get("status") or {}
        token = str(status.get("token") or "")
        if not token:
            raise MountError(f'MountVolume.SetUp failed for volume "{volume_name(pod)}" : failed to fetch token')
        lifetime = float(answer.get("spec", {}).get("expirationSeconds") or TOKEN_SECONDS)
        self._tokens[uid] = (token, time.monotonic() + 0.8 * lifetime)
        return token


async def ensure_default_accounts(api: KubeApi, snap: Snapshot) -> None:
    """The service-account controller: a ``default`` ServiceAccount in every namespace that is not going away."""
    have = snap.by_key("serviceaccounts")
    for namespace in snap.of("namespaces"):
        name = key(namespace)[1]
        if is_terminating(namespace) or (name, "default") in have:
            continue
        body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}}
        try:
            await api.create("serviceaccounts", name, body)
        except KubeError as exc:
            if exc.status not in (404, 409):  # the namespace just went, or someone made it first
                raise
