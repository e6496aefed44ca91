"""Fixtures for the remediation tests: a HealContext over a running lab, built from the lab's targets file
exactly as ``floe-agents heal`` builds it (the Kubernetes client opened from the targets, the run's HTTP client,
the probes' declarations for credentials and redaction), and a playbook step's parameters filled from a cause's
evidence as the heal planner fills them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import pytest

from floe_agents.config import PlatformConfig, load_targets, load_yaml_model
from floe_agents.heal.fill import fill_params
from floe_agents.heal_context import HealContext
from floe_agents.kube import open_kube
from floe_agents.playbooks import load_playbooks, search_path
from floe_agents.registry import Registry
from floe_agents.transport import run_client
from tests.support.lab import LabHandle, start_lab

FillStep = Callable[[str, int, Mapping[str, Any]], dict[str, Any]]


@pytest.fixture(scope="package")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """A lab of these tests' own, for ``parametrize("lab", [scenario], indirect=True)``: remediations change it,
    so it must never be the session's lab that the scenario goldens (tests/lab) read. One per scenario for the
    package: modules asking for the same scenario run in file order on one lab (k8s_create_secret creates the Secret
    that k8s_rollout_restart then changes), which saves a lab start per shared scenario."""
    scenario = request.param
    yield from start_lab(scenario, tmp_path_factory.mktemp(f"heal-{scenario}"))


@pytest.fixture
async def heal_ctx(lab: LabHandle) -> AsyncIterator[HealContext]:
    """What a remediation sees during ``floe-agents heal --target <lab>``."""
    targets = load_targets(lab.targets_file)
    platform = load_yaml_model(PlatformConfig, lab.state_dir / "platform.yaml")
    declarations = Registry.from_entry_points().declarations()
    async with run_client() as http, open_kube(targets.kubernetes) as api:
        yield HealContext(
            targets=targets,
            http=http,
            redactor=declarations.redactor(targets, platform),
            declarations=declarations,
            platform=platform,
            kube=api,
        )


@pytest.fixture
def fill_step(heal_ctx: HealContext) -> FillStep:
    """``fill_step(playbook, step_index, evidence)``: that built-in playbook step's parameters for a cause with
    ``evidence`` (``{namespace}`` and ``{platform.*}`` from the lab), as the heal planner fills them."""
    books = load_playbooks(search_path(env={}))
    platform = heal_ctx.platform.model_dump(mode="json") if heal_ctx.platform else {}

    def fill(name: str, index: int, evidence: Mapping[str, Any]) -> dict[str, Any]:
        step = books[name].steps[index]
        scope = {"namespace": heal_ctx.namespace, "evidence": dict(evidence), "platform": platform}
        return fill_params(step.params, scope)

    return fill
