"""An in-memory platform for the heal engine's tests: probes read a dict, a remediation changes it, rules and
playbooks find and fix its two things (a secret on component a, a catalog on b), and the real engine decides."""

from __future__ import annotations

from typing import Any

import httpx

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.declarations import Declarations
from floe_agents.findings import Finding, Status
from floe_agents.heal.engine import Healer
from floe_agents.heal.model import FixPlan
from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.playbooks import Playbook
from floe_agents.redact import Redactor
from floe_agents.registry import Registry, probe
from floe_agents.remediation import Action, Change, Params, RemediationRegistry, Step, remediation
from floe_agents.rules import Match, RootCauseRule, RuleSet
from floe_agents.runner import RunOptions
from floe_agents.swarm import Investigation, Plan, investigate

CODES = {"t.missing": "the thing is missing", "t.ok": "the thing is there"}


class ThingParams(Params):
    thing: str


def platform_probe(state: dict[str, Any], name: str, component: str) -> Any:
    @probe(f"has_{name}", components=[component], codes=CODES)
    async def has(ctx: ProbeContext) -> Finding:
        if state.get(name):
            return ctx.finding(Status.OK, "t.ok", f"{name} is there", subject=name)
        return ctx.finding(Status.FAIL, "t.missing", f"{name} is missing", subject=name, evidence={"thing": name})

    return has


def rule(rule_id: str, component: str) -> RootCauseRule:
    return RootCauseRule(
        id=rule_id,
        title=f"{rule_id} ({{subject}})",
        cause=Match(codes=frozenset({"t.missing"}), components=frozenset({component})),
        remediation={"manual": [f"do {rule_id} by hand"]},
    )


def make_remediation(state: dict[str, Any], log: list[str], *, fail_on: str = "", no_effect: str = "") -> Any:
    @remediation("test.create", params=ThingParams, permissions=[("create", "things")])
    async def create(ctx: HealContext, params: ThingParams) -> list[Step]:
        """Create the thing when it is missing."""
        log.append(f"plan {params.thing}")
        if state.get(params.thing):
            return []

        async def run() -> Change:
            log.append(f"apply {params.thing}")
            if params.thing == fail_on:
                raise RemediationError("the server said no")
            if params.thing != no_effect:
                state[params.thing] = True
            return Change(action=action, before=None, after={"exists": True})

        action = Action(kind="http", verb="create", target=f"thing {params.thing}", summary="create it")
        return [Step(action=action, run=run)]

    return create


def book(name: str, fixes: str, phase: str, **extra: Any) -> Playbook:
    return Playbook.model_validate(
        {
            "name": name,
            "description": name,
            "fixes": [fixes],
            "phase": phase,
            "steps": [{"remediation": "test.create", "params": {"thing": "{evidence.thing}"}}],
            "verify_timeout_s": extra.pop("verify_timeout_s", 5),
            **extra,
        }
    )


class Platform:
    """Two things on two components; the rules, probes and playbooks that find and fix them."""

    def __init__(self, **remediation_options: str) -> None:
        self.state: dict[str, Any] = {"secret": False, "catalog": False}
        self.log: list[str] = []
        self.registry = Registry.of(
            [platform_probe(self.state, "secret", "a"), platform_probe(self.state, "catalog", "b")]
        )
        targets = Targets.model_validate(
            {"vantages": {"local": {}}, "components": {"a": {"endpoints": {}}, "b": {"endpoints": {}}}}
        )
        rules = RuleSet(rules=(rule("missing-secret", "a"), rule("missing-catalog", "b")))
        self.plan = Plan(targets=targets, registry=self.registry, rules=rules, options=RunOptions(deadline_s=10))
        self.remediations = RemediationRegistry.of([make_remediation(self.state, self.log, **remediation_options)])
        self.investigations = 0

    async def investigate(self) -> Investigation:
        self.investigations += 1
        return await investigate(self.plan)

    def healer(
        self, books: list[Playbook], *, confirm: bool = True, interactive: bool = False, settle_s: float = 60.0
    ) -> Healer:
        asked: list[list[FixPlan]] = []

        async def answer(plans: list[FixPlan]) -> bool:
            asked.append(plans)
            return confirm

        self.asked = asked
        self.said: list[str] = []
        ctx = HealContext(
            targets=self.plan.targets, http=httpx.AsyncClient(), redactor=Redactor(), declarations=Declarations()
        )
        return Healer(
            investigate=self.investigate,
            playbooks={b.name: b for b in books},
            registry=self.remediations,
            ctx=ctx,
            confirm=answer,
            interactive=interactive,
            say=self.said.append,
            settle_s=settle_s,
        )


BOOKS = [book("make-catalog", "missing-catalog", "catalog"), book("make-secret", "missing-secret", "secrets")]


def blind_catalog(platform: Platform, blind_on: set[int] | None) -> None:
    """The catalog's probe crashes on the given investigations (numbered from 1; None: every one after the first), as
    a probe does that times out on a loaded machine: it says nothing about the catalog either way."""

    @probe("has_catalog", components=["b"], codes=CODES)
    async def has(ctx: ProbeContext) -> Finding:
        n = platform.investigations
        if (n > 1) if blind_on is None else (n in blind_on):
            raise ConnectionError("the catalog probe did not get an answer")
        if platform.state.get("catalog"):
            return ctx.finding(Status.OK, "t.ok", "catalog is there", subject="catalog")
        return ctx.finding(
            Status.FAIL, "t.missing", "catalog is missing", subject="catalog", evidence={"thing": "catalog"}
        )

    secret = platform.registry.specs["has_secret"]
    platform.registry = Registry.of([secret, has])
    platform.plan = Plan(
        targets=platform.plan.targets,
        registry=platform.registry,
        rules=platform.plan.rules,
        options=platform.plan.options,
    )
