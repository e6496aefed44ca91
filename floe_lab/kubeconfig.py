"""The lab's PKI and kubeconfig: what lets a real ``kubectl`` (or any kubeconfig client) talk to the lab's cluster.

Why TLS at all, when floe-agents reaches the API stand-in over plain HTTP: a real cluster is only reached over
TLS, and ``kubectl`` behaves as it does against one only there (it verifies the server against the cluster's CA
and sends the bearer token). ``lab up`` therefore makes a CA of its own (a fresh one per lab, like ``kubeadm init``),
has it sign the API server's serving certificate for the loopback names, starts the stand-in with a secure port
as well, and writes a kubeconfig next to the targets file: the CA embedded, the lab's token, the lab's namespace
(``floe`` unless ``lab up --namespace`` named another) as the default. The files hold a token and a private key,
so they are written owner-only (0600).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import trustme
import yaml

from floe_lab.names import LabNames
from floe_lab.network import write_private

__all__ = ["KUBECONFIG_FILE", "PKI_DIR", "LabPki", "issue_pki", "kubeconfig_text", "write_kubeconfig"]

KUBECONFIG_FILE = "kubeconfig"
PKI_DIR = "pki"
CLUSTER = "floe-lab"
USER = "floe-lab-admin"
# The names a real apiserver's certificate carries for clients in and out of the cluster, plus loopback.
SERVING_NAMES = ("127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")


@dataclass(frozen=True)
class LabPki:
    """Where the lab's CA certificate and the API server's serving certificate and key are (PEM files)."""

    ca_cert: Path
    serving_cert: Path
    serving_key: Path

    @classmethod
    def under(cls, state_dir: Path) -> LabPki:
        folder = state_dir / PKI_DIR
        return cls(folder / "ca.crt", folder / "apiserver.crt", folder / "apiserver.key")


def issue_pki(state_dir: Path) -> LabPki:
    """A new CA and the API server's certificate signed by it, written under ``<state>/pki`` (0600 each)."""
    pki = LabPki.under(state_dir)
    pki.ca_cert.parent.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="floe-lab")
    leaf = ca.issue_cert(*SERVING_NAMES, common_name="kube-apiserver")
    write_private(pki.ca_cert, ca.cert_pem.bytes().decode())
    write_private(pki.serving_cert, "".join(blob.bytes().decode() for blob in leaf.cert_chain_pems))
    write_private(pki.serving_key, leaf.private_key_pem.bytes().decode())
    return pki


def kubeconfig_text(server: str, ca_pem: bytes, token: str, namespace: str = LabNames.namespace) -> str:
    """A one-context kubeconfig (YAML) for ``server`` with the CA embedded and a bearer token."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CLUSTER,
                "cluster": {"server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()},
            }
        ],
        "users": [{"name": USER, "user": {"token": token}}],
        "contexts": [{"name": CLUSTER, "context": {"cluster": CLUSTER, "user": USER, "namespace": namespace}}],
        "current-context": CLUSTER,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write_kubeconfig(
    state_dir: Path, server: str, pki: LabPki, token: str, namespace: str = LabNames.namespace
) -> Path:
    """Write ``<state>/kubeconfig`` (0600: it holds the token; ``namespace``: the context's default) and return
    its path."""
    path = state_dir / KUBECONFIG_FILE
    write_private(path, kubeconfig_text(server, pki.ca_cert.read_bytes(), token, namespace))
    return path
