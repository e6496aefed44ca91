"""Helpers for the catalog remediation tests: a lab of their own per test module (they change it, so they do not
share the session's lab with the scenario goldens), a HealContext over it as ``floe-agents heal`` builds one,
the cause the real probes diagnose, a built-in playbook step's parameters filled from it, and direct reads of the
catalog (management API and Iceberg REST, with the lab's own credentials) to check what is on the server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from floe_agents.analysis import RootCause
from floe_agents.config import PlatformConfig, load_targets, load_yaml_model
from floe_agents.heal.fill import fill_params
from floe_agents.heal_context import HealContext
from floe_agents.playbooks import load_playbooks, search_path
from floe_agents.registry import ProbeSpec, Registry
from floe_agents.remediation import Change, RemediationSpec, Step
from floe_agents.transport import run_client
from tests.support.lab import LabHandle, probe_findings, start_lab

__all__ = ["applied", "cause_of", "heal_context", "lab_for", "management", "params_for", "planned"]


def lab_for(scenario: str, tmp: Path) -> Iterator[LabHandle]:
    yield from start_lab(scenario, tmp)


@asynccontextmanager
async def heal_context(lab: LabHandle) -> AsyncIterator[HealContext]:
    """What a remediation sees during ``floe-agents heal --target <lab>`` (no Kubernetes client needed here)."""
    targets = load_targets(lab.targets_file)
    platform = load_yaml_model(PlatformConfig, lab.state_dir / "platform.yaml")
    declarations = Registry.from_entry_points().declarations()
    async with run_client() as http:
        yield HealContext(
            targets=targets,
            http=http,
            redactor=declarations.redactor(targets, platform),
            declarations=declarations,
            platform=platform,
        )


async def cause_of(lab: LabHandle, rule: str, *specs: ProbeSpec) -> RootCause:
    """The root cause ``rule`` as the real probes diagnose it on ``lab``."""
    diagnosis = await probe_findings(lab, *specs)
    found = [c for c in diagnosis.analysis.root_causes if c.rule == rule]
    assert found, [c.rule for c in diagnosis.analysis.root_causes]
    return found[0]


def params_for(ctx: HealContext, playbook: str, index: int, evidence: Mapping[str, Any]) -> dict[str, Any]:
    """That built-in playbook step's parameters for a cause with ``evidence``, as the heal planner fills them."""
    step = load_playbooks(search_path(env={}))[playbook].steps[index]
    platform = ctx.platform.model_dump(mode="json") if ctx.platform else {}
    return fill_params(step.params, {"namespace": ctx.namespace, "evidence": dict(evidence), "platform": platform})


async def planned(spec: RemediationSpec[Any], ctx: HealContext, raw: Mapping[str, Any]) -> tuple[Step, ...]:
    return await spec.plan(ctx, spec.parse(raw))


async def applied(steps: tuple[Step, ...]) -> list[Change]:
    return [await step.run() for step in steps]


def management(lab: LabHandle, method: str, path: str, body: Any = None) -> httpx.Response:
    """A management-API call with the lab's own admin login (not through floe-agents)."""
    with lab.polaris() as client:
        root = str(client.base_url).rstrip("/").removesuffix("/api/catalog")
        return client.request(method, f"{root}/api/management/v1/{path}", json=body)
