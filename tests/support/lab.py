"""Shared lab plumbing for tests: one running lab per scenario for the whole session, and a handle to it.

Tests ask for the ``lab`` fixture with ``@pytest.mark.parametrize("lab", ["healthy", ...], indirect=True)``;
pytest groups all tests of a scenario together across modules, so each scenario's lab comes up once per session
(started and stopped with the real `floe-agents lab up/down` CLI). ``probe_findings`` runs real probes through
the real engine against it, exactly as `floe-agents investigate --target <lab>` would.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import yaml

from floe_agents.config import PlatformConfig, load_targets, load_yaml_model
from floe_agents.findings import Finding
from floe_agents.registry import ProbeSpec, Registry
from floe_agents.runner import RunOptions
from floe_agents.swarm import Investigation, Plan, investigate

NS = "floe"
EXE = str(Path(sys.executable).with_name("floe-agents"))


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=timeout, check=False)


@dataclass(frozen=True)
class LabHandle:
    state_dir: Path
    info: dict[str, Any]
    ports: dict[str, dict[str, int]]
    token: str

    @property
    def targets_file(self) -> Path:
        return self.state_dir / "targets.yaml"

    @classmethod
    def load(cls, state_dir: Path) -> LabHandle:
        info = json.loads((state_dir / "lab.json").read_text())
        targets = yaml.safe_load((state_dir / "targets.yaml").read_text())
        return cls(state_dir, info, json.loads((state_dir / "ports.json").read_text()), targets["kubernetes"]["token"])

    def url(self, workload: str, port: str) -> str:
        return f"http://127.0.0.1:{self.ports[workload][port]}"

    def kube(self, path: str) -> httpx.Response:
        return httpx.get(self.info["api_url"] + path, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)

    def secret(self, name: str, key: str) -> str:
        data = self.kube(f"/api/v1/namespaces/{NS}/secrets/{name}").json()["data"]
        return base64.b64decode(data[key]).decode()

    def polaris(self) -> httpx.Client:
        base = self.url("floe-infra-polaris", "http") + "/api/catalog"
        token = httpx.post(
            f"{base}/v1/oauth/tokens",
            data={
                "grant_type": "client_credentials",
                "scope": "PRINCIPAL_ROLE:ALL",
                "client_id": self.secret("floe-demo-credentials", "polaris-client-id"),
                "client_secret": self.secret("floe-demo-credentials", "polaris-client-secret"),
            },
            timeout=10,
        ).json()
        return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=30)


def start_lab(scenario: str, state: Path) -> Iterator[LabHandle]:
    """`floe-agents lab up` with ``scenario``; waits for the launched pipeline run; `lab down` afterwards."""
    from floe_lab.dagster_runs import wait_for_run  # noqa: PLC0415

    up = cli("lab", "up", "--scenario", scenario, "--state", str(state), timeout=600)  # a busy machine: load 20+
    try:
        assert up.returncode == 0, up.stderr[-4000:]
        handle = LabHandle.load(state)
        run_id = handle.info.get("run_id")
        if run_id:  # let the pipeline run (and its telemetry) finish before judging the lab
            anyio.run(lambda: wait_for_run(handle.url("floe-dagster-dagster-webserver", "http"), run_id))
        yield handle
    finally:
        down = cli("lab", "down", "--state", str(state), timeout=300)  # stop graces add up on a busy machine
        assert down.returncode == 0, down.stderr
        assert "nothing left listening" in down.stderr
        assert not (state / "targets.yaml").exists()  # `investigate --target lab` now says there is no lab


async def probe_findings(
    lab: LabHandle, *specs: ProbeSpec, only: str | None = None, deadline_s: float = 30.0
) -> Investigation:
    """Run ``specs`` (probes and follow-ups) through the real engine against ``lab``."""
    targets = load_targets(lab.targets_file)
    platform = load_yaml_model(PlatformConfig, lab.state_dir / "platform.yaml")
    plan = Plan(
        targets=targets,
        registry=Registry.of(specs),
        platform=platform,
        only=frozenset({only}) if only else frozenset(),
        options=RunOptions(deadline_s=deadline_s),
    )
    return await investigate(plan)


def findings_of(result: Investigation, check: str) -> list[Finding]:
    return [f for f in result.analysis.findings if f.check == check]


__all__ = ["NS", "LabHandle", "cli", "findings_of", "probe_findings", "start_lab"]
