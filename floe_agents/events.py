"""What happens during one run, as typed events, and the immutable record they add up to.

Why: whoever watches a run (the CLI's progress view, a test, a benchmark) should learn what happened without
holding the runner or reading its bookkeeping while it changes. The runner emits these events to the observers
the caller passes to :func:`floe_agents.swarm.investigate`; :class:`Recorder` folds the same events into the
:class:`RunRecord` the investigation returns, so the report and a live view can never tell two stories.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from floe_agents.findings import Finding

__all__ = [
    "AgentDeadlineHit",
    "AgentFinished",
    "AgentStarted",
    "FindingPosted",
    "FollowUpLaunched",
    "Observer",
    "Recorder",
    "RunEvent",
    "RunRecord",
    "RunStarted",
]


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The run begins; ``agents`` are the planned agents' components, in plan order."""

    agents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgentStarted:
    component: str


@dataclass(frozen=True, slots=True)
class AgentDeadlineHit:
    """The global deadline cancelled this agent; ``unfinished`` are its probes that had not finished."""

    component: str
    unfinished: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AgentFinished:
    """An agent is done (or was cut off by the deadline): its wall time and each finished probe's duration."""

    component: str
    duration_s: float
    probes: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    deadline_hit: bool = False


@dataclass(frozen=True, slots=True)
class FollowUpLaunched:
    """A follow-up probe was started by a finding (``trigger`` is that finding's key)."""

    probe: str
    trigger: str
    code: str

    def __str__(self) -> str:
        return f"{self.probe} <- {self.trigger} [{self.code}]"


@dataclass(frozen=True, slots=True)
class FindingPosted:
    """A finding reached the bus (delivered to observers in bus order, beside the coordinator)."""

    finding: Finding


RunEvent = RunStarted | AgentStarted | AgentDeadlineHit | AgentFinished | FollowUpLaunched | FindingPosted
Observer = Callable[[RunEvent], None]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What one run did: each agent's timings (keyed by component, in the order the agents started) and the
    follow-ups it launched, in launch order."""

    agents: Mapping[str, AgentFinished] = field(default_factory=lambda: MappingProxyType({}))
    follow_ups: tuple[FollowUpLaunched, ...] = ()


class Recorder:
    """An observer that folds one run's events into its :class:`RunRecord` (one per run)."""

    def __init__(self) -> None:
        self._started: list[str] = []
        self._finished: dict[str, AgentFinished] = {}
        self._follow_ups: list[FollowUpLaunched] = []

    def __call__(self, event: RunEvent) -> None:
        match event:
            case AgentStarted(component=component):
                self._started.append(component)
            case AgentFinished(component=component):
                self._finished[component] = event
            case FollowUpLaunched():
                self._follow_ups.append(event)
            case _:
                pass

    def record(self) -> RunRecord:
        agents = {c: self._finished[c] for c in self._started if c in self._finished}
        return RunRecord(agents=MappingProxyType(agents), follow_ups=tuple(self._follow_ups))
