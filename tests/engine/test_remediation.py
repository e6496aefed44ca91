"""Remediations are declared like probes: a frozen spec from a decorator, found through entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pydantic
import pytest

from floe_agents import remediation as remediation_module
from floe_agents.heal_context import HealContext, NotPermittedError
from floe_agents.remediation import Params, RemediationRegistry, Step, remediation


class NameParams(Params):
    name: str


@remediation("acme.touch", params=NameParams, risk="medium", permissions=[("patch", "deployments.apps")])
async def touch(ctx: HealContext, params: NameParams) -> list[Step]:
    """Touch a thing.

    More text that is not the description."""
    return []


def test_the_decorator_makes_a_frozen_spec_with_its_declarations() -> None:
    assert touch.name == "acme.touch" and touch.description == "Touch a thing." and touch.risk == "medium"
    assert [(p.verb, p.resource) for p in touch.permissions] == [("patch", "deployments.apps")]
    assert touch.parse({"name": "x"}) == NameParams(name="x")
    with pytest.raises(pydantic.ValidationError):
        touch.parse({"name": "x", "typo": 1})  # a playbook's typo is an error, not ignored
    with pytest.raises(AttributeError):
        touch.name = "other"  # type: ignore[misc]


def test_entry_points_load_specs_and_report_what_is_not_one(monkeypatch: pytest.MonkeyPatch) -> None:
    points = [  # a broken one first: what follows it still loads
        EntryPoint("broken", "no.such.module:x", "floe_agents.remediations"),
        EntryPoint("touch", "tests.engine.test_remediation:touch", "floe_agents.remediations"),
        EntryPoint("module", "tests.engine.test_remediation", "floe_agents.remediations"),
    ]

    def fake(group: str) -> list[EntryPoint]:
        assert group == "floe_agents.remediations"
        return points

    monkeypatch.setattr(remediation_module, "entry_points", fake)
    registry = RemediationRegistry.from_entry_points()
    assert list(registry.specs) == ["acme.touch"] and registry.get("acme.touch") is touch
    errors = {e.entry_point: e.reason for e in registry.load_errors}
    assert errors["broken = no.such.module:x"].startswith("ModuleNotFoundError")
    assert errors["module = tests.engine.test_remediation"] == "not a RemediationSpec (module)"
    assert registry.get("nope") is None


def test_two_remediations_with_one_name_keep_the_first_and_say_so() -> None:
    other: Any = remediation("acme.touch", params=NameParams)(touch.fn)
    registry = RemediationRegistry.of([touch, other])
    assert registry.get("acme.touch") is touch
    assert [e.reason for e in registry.load_errors] == ["duplicate remediation name 'acme.touch'; later one ignored"]


def test_not_permitted_says_which_verb_on_which_resource() -> None:
    assert str(NotPermittedError("create", "secrets")) == "not permitted: needs create on secrets"
    assert (
        str(NotPermittedError("patch", "deployments.apps", "403"))
        == "not permitted: needs patch on deployments.apps (403)"
    )


async def test_plan_hands_the_remediation_its_context_and_parsed_parameters() -> None:
    seen: list[tuple[object, str]] = []

    @remediation("acme.look", params=NameParams)
    async def look(ctx: HealContext, params: NameParams) -> list[Step]:
        """Look at a thing."""
        seen.append((ctx, params.name))
        return []

    assert (look.name, look.description, look.risk, look.permissions) == ("acme.look", "Look at a thing.", "low", ())
    ctx: Any = object()
    assert await look.plan(ctx, look.parse({"name": "x"})) == ()
    assert seen == [(ctx, "x")]
    with pytest.raises(pydantic.ValidationError):
        look.parse({"name": "x", "extra": True})
