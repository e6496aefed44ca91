"""What a heal plans, does and proves, as data: the plan a person reviews and the record of what changed.

Why one document for both modes: ``heal --dry-run`` and ``heal`` print the same plan, so what was reviewed is
recognisably what was applied; the applied record adds, per fix, every change with the state before it, whether
its verification passed, and the health of each component before and after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypeAlias

from pydantic import Field

from floe_agents import __version__
from floe_agents._frozen import Frozen
from floe_agents.findings import Finding, Status
from floe_agents.playbooks import Phase
from floe_agents.remediation import Action, Change

__all__ = [
    "EXIT_CODES",
    "AppliedFix",
    "FixPlan",
    "HealReport",
    "NotPermitted",
    "Outcome",
    "PlannedAction",
]

FixKind: TypeAlias = Literal["automatic", "manual", "nothing-to-do"]
Outcome: TypeAlias = Literal[
    "healthy",  # nothing was wrong
    "planned",  # dry run: the plan is shown, nothing was changed
    "healed",  # every cause fixed and verified; the re-investigation is green
    "manual-steps-remain",  # what could be fixed was; causes without a safe automatic fix remain
    "step-failed",  # a step or its verification failed; heal stopped there
    "not-confirmed",  # the person declined the plan; nothing was changed
    "not-permitted",  # the API would refuse a write heal needs (its Role lacks it); nothing of that round was changed
]

# The exit codes are a contract for CI and CronJobs (README "Exit codes").
EXIT_CODES: dict[Outcome, int] = {
    "healthy": 0,
    "healed": 0,
    "planned": 1,
    "manual-steps-remain": 1,
    "not-confirmed": 1,
    "step-failed": 2,
    "not-permitted": 2,
}
EXIT_TOOL_ERROR = 3
EXIT_LOCKED = 4


class PlannedAction(Frozen):
    remediation: str
    action: Action


class FixPlan(Frozen):
    """How one root cause is answered: a playbook's actions, or the manual steps and why it is not automatic."""

    cause: str = Field(description="The root-cause rule id.")
    title: str
    component: str
    kind: FixKind
    playbook: str | None = None
    phase: Phase | None = None
    risk: Literal["low", "medium", "high"] | None = None
    confirm: bool = False
    actions: tuple[PlannedAction, ...] = ()
    manual: tuple[str, ...] = ()
    reason: str | None = Field(default=None, description="Why this cause is left to a person, when it is.")
    verify: tuple[str, ...] = ()


class AppliedFix(Frozen):
    cause: str
    playbook: str
    changes: tuple[Change, ...] = ()
    verified: bool = False
    error: str | None = None
    seconds: float = 0.0


class NotPermitted(Frozen):
    """A step heal may not take: the API refuses a write it needs (asked first, or refused when tried)."""

    cause: str = Field(description="The root-cause rule the step answers ('' for heal's own Lease).")
    playbook: str = ""
    target: str = Field(description="What the step changes: 'Deployment floe/x', 'Lease floe/floe-agents-heal'.")
    verb: str = Field(description="The step's verb as planned: patch, create, replace, run.")
    needs: tuple[str, ...] = Field(
        description="Each refused permission: 'patch on deployments.apps (in namespace floe)'."
    )

    @property
    def message(self) -> str:
        return f"{self.verb} {self.target}: not permitted: needs {'; needs '.join(self.needs)}"


class HealReport(Frozen):
    schema_version: Literal["1.0"] = "1.0"
    tool_version: str = __version__
    generated_at: datetime
    mode: Literal["dry-run", "apply"]
    namespace: str
    outcome: Outcome
    exit_code: int
    before: dict[str, Status] = Field(description="Each component's health when heal started.")
    after: dict[str, Status] = Field(default_factory=dict, description="Each component's health at the end.")
    causes_before: tuple[str, ...] = ()
    causes_after: tuple[str, ...] = ()
    plan: tuple[FixPlan, ...] = ()
    applied: tuple[AppliedFix, ...] = ()
    not_permitted: tuple[NotPermitted, ...] = Field(
        default=(), description="Steps the API would refuse (each with the permissions it lacks): none was taken."
    )
    wall_s: float = 0.0
    findings: tuple[Finding, ...] = Field(
        default=(), description="Problems floe-agents itself met writing this report (a sink that failed)."
    )
