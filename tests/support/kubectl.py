"""The real ``kubectl`` against the lab's Kubernetes stand-in: the stand-in served over TLS with the lab's own CA
and kubeconfig (:mod:`floe_lab.kubeconfig`), and kubectl run in a clean environment (its own HOME and KUBECONFIG,
no proxy), so the caller's settings change nothing. Used by ``tests/lab/test_kubectl*.py`` through the
``kubectl_cluster`` fixture; those tests skip when no kubectl is on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

from floe_lab.kube import KubeStore, serve_endpoints, serving_context
from floe_lab.kubeconfig import issue_pki, write_kubeconfig

KUBECTL = shutil.which("kubectl")
NO_KUBECTL = "no kubectl on PATH: these tests drive the real client"
TOKEN = "kubectl-token"


@dataclass
class Cluster:
    """A running stand-in (its store, in this process) and how to run kubectl against it."""

    store: KubeStore
    env: dict[str, str]
    folder: Path

    def argv(self, *args: str) -> list[str]:
        assert KUBECTL is not None
        return [KUBECTL, *args]

    async def run(self, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        """kubectl's exit code, stdout and stderr."""
        done = await anyio.run_process(
            self.argv(*args), input=stdin.encode() if stdin else None, env=self.env, check=False
        )
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    async def ok(self, *args: str, stdin: str | None = None) -> str:
        """kubectl's stdout; the test fails with its stderr if it exits non-zero."""
        code, out, err = await self.run(*args, stdin=stdin)
        assert code == 0, f"kubectl {' '.join(args)} exited {code}: {err}"
        return out


@asynccontextmanager
async def kubectl_cluster(folder: Path) -> AsyncIterator[Cluster]:
    """The stand-in (namespace ``floe``) on an HTTPS port, and a kubeconfig for it in ``folder``."""
    store = KubeStore()
    store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "floe"}})
    pki = issue_pki(folder)
    tls = serving_context(pki.serving_cert, pki.serving_key)
    async with serve_endpoints(store, token=TOKEN, tls=tls) as endpoints:
        assert endpoints.https is not None
        kubeconfig = write_kubeconfig(folder, endpoints.https, pki, TOKEN)
        yield Cluster(store, kubectl_env(folder, kubeconfig), folder)


def kubectl_env(folder: Path, kubeconfig: Path) -> dict[str, str]:
    """A clean environment for kubectl: this kubeconfig, a HOME of its own (its discovery cache) in ``folder``,
    no proxy, the C locale; nothing else of the caller's."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder / "home"),
        "KUBECONFIG": str(kubeconfig),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "LANG": "C",
    }


def ago(seconds: int) -> str:
    """A timestamp ``seconds`` ago, as the API writes them."""
    return (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def row(out: str, *cells: str) -> None:
    """``out`` has a line whose whitespace-separated cells match ``cells`` (regular expressions), in order."""
    pattern = re.compile(r"^" + r"\s+".join(cells) + r"\s*$", re.MULTILINE)
    assert pattern.search(out), f"no row {cells} in:\n{out}"
