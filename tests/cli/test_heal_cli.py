"""`floe-agents heal` refuses to change anything it cannot ask about, and says so in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from kubernetes_asyncio import client

from floe_agents.heal.lock import LEASE_NAME, heal_lock
from floe_lab.kube import KubeStore, client_configuration, serve

EXE = str(Path(sys.executable).with_name("floe-agents"))


def test_heal_without_a_terminal_and_without_yes_refuses_before_reading_anything(tmp_path: Path) -> None:
    targets = tmp_path / "missing.yaml"  # not even read: the refusal comes first
    result = subprocess.run(
        [EXE, "heal", "--target", str(targets)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("floe-agents: error: heal changes the platform") and "--yes" in line


def test_a_broken_playbook_folder_is_a_usage_error_before_anything_runs(tmp_path: Path) -> None:
    books = tmp_path / "books"
    books.mkdir()
    (books / "bad.yaml").write_text("name: other\ndescription: d\nfixes: [x]\nsteps: [{remediation: a.b}]\n")
    targets = tmp_path / "targets.yaml"
    targets.write_text("vantage: local\nvantages: {local: {}}\n")
    result = subprocess.run(
        [EXE, "heal", "--dry-run", "--playbooks", str(books), "--target", str(targets)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"floe-agents: error: {books / 'bad.yaml'}") and "must match the file name" in line


@pytest.mark.anyio
async def test_a_second_heal_through_the_cli_names_who_holds_the_lease_and_exits_4(tmp_path: Path) -> None:
    """Two heals at once: while one holds the Lease in the cluster (the lab's Kubernetes API, the real client), a
    second `floe-agents heal --yes` changes nothing, says in one line who holds it, and exits 4 (locked)."""
    async with serve(KubeStore(), token="t") as url, client.ApiClient(client_configuration(url, "t")) as api:
        await client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="floe")))
        async with heal_lock(api, "floe", identity="heal-one@node-a"):
            targets = tmp_path / "targets.yaml"
            kube = {"mode": "url", "url": url, "token": "t"}
            targets.write_text(json.dumps({"namespace": "floe", "kubernetes": kube}), encoding="utf-8")
            result = await anyio.to_thread.run_sync(
                lambda: subprocess.run(
                    [EXE, "heal", "--yes", "--target", str(targets)],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
            )
            lease = await client.CoordinationV1Api(api).read_namespaced_lease(LEASE_NAME, "floe")
    assert result.returncode == 4 and result.stdout == "", result.stderr
    (line,) = [ln for ln in result.stderr.splitlines() if "not run" in ln]
    assert f"Lease floe/{LEASE_NAME}: heal-one@node-a" in line
    assert lease.spec.holder_identity == "heal-one@node-a"  # the second heal did not disturb it
