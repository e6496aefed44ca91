"""Progress while the swarm works: a live per-agent table on a terminal, plain lines otherwise.

Progress is one observer of the run's typed events (:mod:`floe_agents.events`): it never holds the runner and
never touches the report. On a TTY the table is redrawn by rich ``Live``; in CI (no TTY) each problem finding and
each finished agent is one plain line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table

from floe_agents.events import AgentDeadlineHit, AgentFinished, AgentStarted, FindingPosted, RunEvent, RunStarted
from floe_agents.findings import Finding, Status, worst_status
from floe_agents.redact import Redactor

__all__ = ["Progress"]

_STYLE = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "red", Status.UNKNOWN: "magenta"}


@dataclass
class Progress:
    """Observer of one run: pass it to ``investigate(plan, observers=[progress])``."""

    stream: TextIO
    redactor: Redactor
    live: bool
    states: dict[str, str] = field(default_factory=dict)  # agent -> waiting, running, done or deadline
    statuses: dict[str, list[Status]] = field(default_factory=dict)
    said: dict[str, tuple[Status, str, str]] = field(default_factory=dict)  # finding key -> what was shown
    interrupted: bool = False  # a signal cut the run short: agents cut off now were interrupted, not late

    def __call__(self, event: RunEvent) -> None:
        match event:
            case RunStarted(agents=agents):
                self.states = dict.fromkeys(agents, "waiting")
            case AgentStarted(component=component):
                self.states[component] = "running"
            case AgentDeadlineHit(component=component):
                self.states[component] = "deadline"
            case AgentFinished():
                self._agent_finished(event)
            case FindingPosted(finding=finding):
                self._finding(finding)
            case _:
                pass

    def _agent_finished(self, event: AgentFinished) -> None:
        cut = "interrupted" if self.interrupted else "deadline"
        self.states[event.component] = cut if event.deadline_hit else "done"
        if not self.live:
            state = ("interrupted" if self.interrupted else "hit the deadline") if event.deadline_hit else "done"
            self.stream.write(f"  agent {event.component} {state} in {event.duration_s:.2f}s\n")

    def _finding(self, finding: Finding) -> None:
        said = (finding.status, str(finding.code), finding.summary)
        if self.said.get(finding.key) == said:
            return  # the same finding again (several follow-ups reaching one verdict): the report keeps one too
        self.said[finding.key] = said
        self.statuses.setdefault(finding.component, []).append(finding.status)
        if not self.live and finding.is_problem:
            line = f"  {finding.status.value:<7} {finding.component}/{finding.check} {finding.code}: {finding.summary}"
            self.stream.write(self.redactor(line) + "\n")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = Table(title="floe-agents: investigating", expand=False)
        for column in ("agent", "state", "findings", "worst"):
            table.add_column(column)
        for component, state in self.states.items():
            seen = self.statuses.get(component, [])
            worst = worst_status(seen)
            table.add_row(component, state, str(len(seen)), f"[{_STYLE[worst]}]{worst.value}[/]" if seen else "—")
        yield table
