"""The deploy/ manifests as a platform team gets them: rendered by the real ``kubectl kustomize``, read as objects.

Why the real kubectl and not a kustomize of our own: ``kubectl apply -k`` is how the manifests are meant to be
applied, so only its own rendering (name hashes, namespace and subject rewriting, components, patches) shows what
reaches a cluster. kubectl runs with an empty environment but PATH and a throw-away HOME, so no kubeconfig, proxy,
locale or terminal setting of the caller changes what it prints. Helpers for ``tests/deploy`` only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DEPLOY", "KUBECTL", "NO_KUBECTL", "OVERLAYS", "ROOT", "Obj", "find", "only", "render"]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("investigate", "heal-dry-run", "heal")
KUBECTL = shutil.which("kubectl")
NO_KUBECTL = "no kubectl on PATH: the deploy tests render the manifests with the real `kubectl kustomize`"
Obj = dict[str, Any]


def render(folder: Path) -> list[Obj]:
    """Every object ``kubectl kustomize folder`` prints; the test fails with kubectl's stderr if it refuses."""
    assert KUBECTL is not None, NO_KUBECTL
    with tempfile.TemporaryDirectory(prefix="floe-agents-kustomize-") as home:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "KUBECONFIG": os.path.join(home, "none")}
        done = subprocess.run([KUBECTL, "kustomize", str(folder)], capture_output=True, env=env, check=False)
    assert done.returncode == 0, f"kubectl kustomize {folder} exited {done.returncode}: {done.stderr.decode()}"
    return [o for o in yaml.safe_load_all(done.stdout) if o]


def find(objs: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objs if o.get("kind") == kind]


def only(objs: list[Obj], kind: str) -> Obj:
    """The one object of ``kind`` (the test fails if there are none or several)."""
    found = find(objs, kind)
    assert len(found) == 1, f"expected one {kind}, found {[o['metadata']['name'] for o in found]}"
    return found[0]
