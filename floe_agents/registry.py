"""Probe declarations and the registry that turns them into agents.

Like kopf's handler registry, a decorator turns a plain async function into a frozen spec (name, the components it
serves, timeout, retries with backoff, which probes it runs after, what findings trigger it, and what it declares:
the finding codes it can emit, the credentials it logs in with, the evidence keys that are secret or only look
it) and the registry is an immutable collection of specs. Nothing is registered as a side effect of import:
probes are discovered through the ``floe_agents.probes`` entry-point group, so a third-party package adds a probe
exactly the way we do, and a broken plugin is reported as a load error instead of breaking the run.

An *agent* is one component and the probes that apply to it; the runner runs every agent concurrently.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, TypeAlias, cast

from floe_agents._installed import entry_points
from floe_agents.declarations import ENGINE_CODES, Credential, Declarations, engine_codes
from floe_agents.findings import Finding, Status
from floe_agents.redact import EvidenceKeys

if TYPE_CHECKING:
    from floe_agents.context import ProbeContext

__all__ = [
    "AgentSpec",
    "Credential",
    "LoadError",
    "ProbeFn",
    "ProbeResult",
    "ProbeSpec",
    "Registry",
    "RetryPolicy",
    "engine_codes",
    "follow_up",
    "probe",
]

ProbeResult: TypeAlias = Finding | Sequence[Finding] | None
ProbeFn: TypeAlias = Callable[["ProbeContext"], Awaitable[ProbeResult]]
FollowUpFn: TypeAlias = Callable[["ProbeContext", Finding], Awaitable[ProbeResult]]
PROBES_GROUP = "floe_agents.probes"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries for a probe that *crashed or timed out* (a clean fail finding is an answer, not retried)."""

    attempts: int = 1
    backoff_s: float = 0.2
    factor: float = 2.0

    def delay(self, attempt: int) -> float:
        return self.backoff_s * (self.factor**attempt)


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """A declared probe. ``components=None`` means every component that has endpoints."""

    name: str
    fn: ProbeFn | FollowUpFn
    kind: Literal["probe", "follow_up"] = "probe"
    components: frozenset[str] | None = None
    timeout_s: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    after: tuple[str, ...] = ()
    on_codes: frozenset[str] = frozenset()
    on_statuses: frozenset[Status] = frozenset({Status.FAIL, Status.WARN, Status.UNKNOWN})
    description: str = ""
    codes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    fixes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    credentials: tuple[Credential, ...] = ()
    evidence_keys: EvidenceKeys = field(default_factory=EvidenceKeys)

    def invoke(self, ctx: ProbeContext, trigger: Finding | None = None) -> Awaitable[ProbeResult]:
        """Call the probe function (``fn(ctx)``, or ``fn(ctx, trigger)`` for a follow-up)."""
        if self.kind == "follow_up":
            if trigger is None:
                msg = f"follow-up probe {self.name!r} needs the finding that triggered it"
                raise TypeError(msg)
            return cast("FollowUpFn", self.fn)(ctx, trigger)
        return cast("ProbeFn", self.fn)(ctx)

    def applies_to(self, component: str, has_endpoints: bool) -> bool:
        if self.kind != "probe":
            return False
        if self.components is None:
            return has_endpoints
        return component in self.components

    def triggered_by(self, finding: Finding) -> bool:
        return (
            self.kind == "follow_up"
            and finding.status in self.on_statuses
            and str(finding.code) in self.on_codes
            and finding.check != self.name
        )


def probe(
    name: str,
    *,
    components: Collection[str] | None = None,
    timeout: float = 5.0,
    retries: int = 0,
    backoff: float = 0.2,
    after: Collection[str] = (),
    description: str = "",
    codes: Mapping[str, str] | None = None,
    fixes: Mapping[str, str] | None = None,
    credentials: Iterable[Credential] = (),
    secret_evidence: Iterable[str] = (),
    public_evidence: Iterable[str] = (),
) -> Callable[[ProbeFn], ProbeSpec]:
    """Declare a probe: ``@probe("tcp", timeout=2, codes=CODES)`` over ``async def fn(ctx) -> list[Finding]``.

    ``codes`` maps every finding code it can emit to a one-line meaning (rules are checked against them);
    ``fixes`` maps a failure code to the step that fixes it, shown when no rule explains such a finding;
    ``credentials`` are what it logs in with; ``secret_evidence`` keys are always masked in its findings and
    ``public_evidence`` keys, though secret-looking by name, never are."""

    def wrap(fn: ProbeFn) -> ProbeSpec:
        doc = (fn.__doc__ or "").strip().splitlines()
        return ProbeSpec(
            name=name,
            fn=fn,
            components=None if components is None else frozenset(components),
            timeout_s=timeout,
            retry=RetryPolicy(attempts=retries + 1, backoff_s=backoff),
            after=tuple(after),
            description=description or (doc[0] if doc else ""),
            codes=MappingProxyType(dict(codes or {})),
            fixes=MappingProxyType(dict(fixes or {})),
            credentials=tuple(credentials),
            evidence_keys=EvidenceKeys.of(public_evidence, secret_evidence),
        )

    return wrap


def follow_up(
    name: str,
    *,
    on: Collection[str],
    statuses: Collection[Status] = (Status.FAIL, Status.WARN, Status.UNKNOWN),
    timeout: float = 5.0,
    description: str = "",
    codes: Mapping[str, str] | None = None,
    fixes: Mapping[str, str] | None = None,
    credentials: Iterable[Credential] = (),
    secret_evidence: Iterable[str] = (),
    public_evidence: Iterable[str] = (),
) -> Callable[[FollowUpFn], ProbeSpec]:
    """Declare an event-driven probe run when a finding with one of the codes ``on`` is published (the other
    keywords as for :func:`probe`)."""

    def wrap(fn: FollowUpFn) -> ProbeSpec:
        doc = (fn.__doc__ or "").strip().splitlines()
        return ProbeSpec(
            name=name,
            fn=fn,
            kind="follow_up",
            timeout_s=timeout,
            on_codes=frozenset(str(c) for c in on),
            on_statuses=frozenset(statuses),
            description=description or (doc[0] if doc else ""),
            codes=MappingProxyType(dict(codes or {})),
            fixes=MappingProxyType(dict(fixes or {})),
            credentials=tuple(credentials),
            evidence_keys=EvidenceKeys.of(public_evidence, secret_evidence),
        )

    return wrap


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """One component's agent: its probes (in dependency levels) and what the component needs."""

    component: str
    probes: tuple[ProbeSpec, ...]
    depends_on: tuple[str, ...] = ()

    def levels(self) -> list[list[ProbeSpec]]:
        """Probes grouped so each level only runs after the probes it names in ``after`` (Kahn's algorithm)."""
        names = {p.name for p in self.probes}
        pending = {p.name: p for p in self.probes}
        done: set[str] = set()
        out: list[list[ProbeSpec]] = []
        while pending:
            ready = [p for p in pending.values() if all(a in done or a not in names for a in p.after)]
            if not ready:  # a cycle: run the rest together rather than never
                ready = list(pending.values())
            out.append(sorted(ready, key=lambda p: p.name))
            for p in ready:
                done.add(p.name)
                del pending[p.name]
        return out


@dataclass(frozen=True, slots=True)
class LoadError:
    """An entry point that could not be loaded or is not a ProbeSpec."""

    entry_point: str
    reason: str


@dataclass(frozen=True)
class Registry:
    """An immutable set of probe specs."""

    specs: Mapping[str, ProbeSpec] = field(default_factory=dict)
    load_errors: tuple[LoadError, ...] = ()

    @classmethod
    def of(cls, specs: Iterable[ProbeSpec], load_errors: Iterable[LoadError] = ()) -> Registry:
        by_name: dict[str, ProbeSpec] = {}
        errors = list(load_errors)
        for spec in specs:
            if spec.name in by_name:
                errors.append(LoadError(spec.name, f"duplicate probe name {spec.name!r}; later one ignored"))
                continue
            by_name[spec.name] = spec
        return cls(by_name, tuple(errors))

    @classmethod
    def from_entry_points(cls, group: str = PROBES_GROUP) -> Registry:
        specs: list[ProbeSpec] = []
        errors: list[LoadError] = []
        for ep in entry_points(group=group):
            try:
                obj = ep.load()
            except Exception as exc:
                errors.append(LoadError(f"{ep.name} = {ep.value}", f"{type(exc).__name__}: {exc}"))
                continue
            if isinstance(obj, ProbeSpec):
                specs.append(obj)
            else:
                errors.append(LoadError(f"{ep.name} = {ep.value}", f"not a ProbeSpec ({type(obj).__name__})"))
        return cls.of(specs, errors)

    @property
    def follow_ups(self) -> tuple[ProbeSpec, ...]:
        return tuple(s for s in self.specs.values() if s.kind == "follow_up")

    def declarations(self) -> Declarations:
        """Every probe's declared codes (with the engine's), credentials, evidence keys and fixes, for the run.

        A code or credential declared by several probes is one entry: the first probe (by name) wins."""
        codes: dict[str, str] = dict(ENGINE_CODES)
        fixes: dict[str, str] = {}
        credentials: dict[str, Credential] = {}
        for spec in sorted(self.specs.values(), key=lambda s: s.name):
            for code, meaning in spec.codes.items():
                codes.setdefault(code, meaning)
            for code, fix in spec.fixes.items():
                fixes.setdefault(code, fix)
            for cred in spec.credentials:
                credentials.setdefault(cred.name, cred)
        evidence = {name: spec.evidence_keys for name, spec in self.specs.items()}
        return Declarations(
            MappingProxyType(codes), MappingProxyType(credentials), MappingProxyType(evidence), MappingProxyType(fixes)
        )

    def agents(
        self,
        components: Mapping[str, tuple[tuple[str, ...], bool]],
    ) -> tuple[AgentSpec, ...]:
        """One agent per component (name -> (depends_on, has_endpoints)) that at least one probe applies to."""
        out: list[AgentSpec] = []
        for name, (depends_on, has_endpoints) in components.items():
            probes = tuple(s for s in self.specs.values() if s.applies_to(name, has_endpoints))
            if probes:
                out.append(AgentSpec(name, probes, depends_on))
        return tuple(out)
