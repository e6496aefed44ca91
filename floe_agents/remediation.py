"""Remediations: the changes ``floe-agents heal`` can make, declared like probes.

Why this shape. A remediation is one async function ``plan(ctx, params)`` that *only reads* and returns the
exact steps it would take, each a public :class:`Action` (what is shown, redacted at birth) bound to the
callable that carries it out. What a person reviewed in ``heal --dry-run`` is therefore exactly what ``heal``
applies: there is no second code path that re-derives the change. Planning on a system that is already fixed
returns no step, which is what makes every remediation idempotent and a second ``heal`` a no-op. Carrying out a
step returns a :class:`Change` with the state before, so a report can say what changed and how to undo it.

Like probes (kopf's handler registry is the model), ``@remediation(...)`` turns the function into a frozen
:class:`RemediationSpec`; nothing registers at import. Specs are found through the ``floe_agents.remediations``
entry-point group, so a team ships its own the way we ship ours, and a broken plugin is a load error, not a
crash. Remediations never import the coordinator or the heal engine: they see a :class:`HealContext` only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from floe_agents._frozen import Frozen
from floe_agents._installed import entry_points
from floe_agents.registry import LoadError

if TYPE_CHECKING:
    from floe_agents.heal_context import HealContext

__all__ = [
    "REMEDIATIONS_GROUP",
    "Action",
    "Change",
    "Params",
    "Permission",
    "RemediationRegistry",
    "RemediationSpec",
    "Risk",
    "Step",
    "remediation",
]

REMEDIATIONS_GROUP = "floe_agents.remediations"
Risk: TypeAlias = Literal["low", "medium", "high"]
Kind: TypeAlias = Literal["kubernetes", "http", "sql", "iceberg"]


class Params(BaseModel):
    """Base for a remediation's parameters: closed (a typo in a playbook is an error) and frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=Params)


class Permission(Frozen):
    """One Kubernetes permission a remediation needs (what the heal Role must grant, and what it checks)."""

    verb: str
    resource: str = Field(description="Plural resource, group-qualified when not core: 'leases.coordination.k8s.io'.")


class Action(Frozen):
    """One change, exact enough to review: the request it sends and, for show, its body with secrets masked."""

    kind: Kind
    verb: str = Field(description="create | patch | update | delete | run | sql | write")
    target: str = Field(description="What is changed: 'Secret floe/x', 'PUT /api/management/v1/catalogs/c'.")
    summary: str = Field(description="One line a person reads in the plan.")
    body: JsonValue = Field(default=None, description="The request body, secrets masked; never the secret itself.")
    undo: str | None = Field(default=None, description="How to take it back; None when it cannot be undone.")


class Change(Frozen):
    """What one applied action changed: the action, the state before and after it (masked)."""

    action: Action
    before: JsonValue = None
    after: JsonValue = None


@dataclass(frozen=True)
class Step:
    """A planned action bound to what carries it out (holding any secret payload, never shown)."""

    action: Action
    run: Callable[[], Awaitable[Change]] = field(repr=False, compare=False)


PlanFn: TypeAlias = Callable[["HealContext", Any], Awaitable[Sequence[Step]]]


@dataclass(frozen=True)
class RemediationSpec(Generic[P]):
    name: str
    fn: Callable[[HealContext, P], Awaitable[Sequence[Step]]] = field(repr=False)
    params: type[P]
    description: str
    risk: Risk = "low"
    permissions: tuple[Permission, ...] = ()

    def parse(self, raw: Mapping[str, Any]) -> P:
        """The playbook step's filled-in parameters as this remediation's model (raises pydantic's error)."""
        return self.params.model_validate(dict(raw))

    async def plan(self, ctx: HealContext, params: P) -> tuple[Step, ...]:
        """The steps to take now; none on a system that needs none. Reads only."""
        return tuple(await self.fn(ctx, params))


def remediation(
    name: str,
    *,
    params: type[P],
    risk: Risk = "low",
    permissions: Iterable[tuple[str, str]] = (),
) -> Callable[[Callable[[HealContext, P], Awaitable[Sequence[Step]]]], RemediationSpec[P]]:
    """Declare a remediation: ``@remediation("k8s.create_secret", params=SecretParams, permissions=[...])``
    over ``async def plan(ctx, params) -> list[Step]``. The docstring's first line is its description."""

    def wrap(fn: Callable[[HealContext, P], Awaitable[Sequence[Step]]]) -> RemediationSpec[P]:
        doc = (fn.__doc__ or "").strip().splitlines()
        return RemediationSpec(
            name=name,
            fn=fn,
            params=params,
            description=doc[0] if doc else name,
            risk=risk,
            permissions=tuple(Permission(verb=v, resource=r) for v, r in permissions),
        )

    return wrap


@dataclass(frozen=True)
class RemediationRegistry:
    """The installed remediations by name, and the plugins that failed to load."""

    specs: Mapping[str, RemediationSpec[Any]]
    load_errors: tuple[LoadError, ...] = ()

    @classmethod
    def of(cls, specs: Iterable[RemediationSpec[Any]], load_errors: Iterable[LoadError] = ()) -> RemediationRegistry:
        by_name: dict[str, RemediationSpec[Any]] = {}
        errors = list(load_errors)
        for spec in specs:
            if spec.name in by_name:
                errors.append(LoadError(spec.name, f"duplicate remediation name {spec.name!r}; later one ignored"))
                continue
            by_name[spec.name] = spec
        return cls(MappingProxyType(by_name), tuple(errors))

    @classmethod
    def from_entry_points(cls, group: str = REMEDIATIONS_GROUP) -> RemediationRegistry:
        """Every remediation the installed packages declare, one spec per entry point, as probes are found."""
        specs: list[RemediationSpec[Any]] = []
        errors: list[LoadError] = []
        for ep in entry_points(group=group):
            where = f"{ep.name} = {ep.value}"
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin is reported, never fatal
                errors.append(LoadError(where, f"{type(exc).__name__}: {exc}"))
                continue
            if isinstance(obj, RemediationSpec):
                specs.append(obj)
            else:
                errors.append(LoadError(where, f"not a RemediationSpec ({type(obj).__name__})"))
        return cls.of(specs, errors)

    def get(self, name: str) -> RemediationSpec[Any] | None:
        return self.specs.get(name)
