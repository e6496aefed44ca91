"""Progress while the swarm works: a live per-agent table on a terminal, plain lines otherwise.

Progress reads the run's own record and the findings stream; it never touches the report. On a TTY the table is
redrawn by rich ``Live``; in CI (no TTY) each problem finding and each finished agent is one plain line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table

from floe_agents.findings import Finding, Status, worst_status
from floe_agents.redact import Redactor
from floe_agents.runner import AgentRun, Runner

__all__ = ["Progress"]

_STYLE = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "red", Status.UNKNOWN: "magenta"}


@dataclass
class Progress:
    """Observer of one run (attach with ``on_runner`` and pass :meth:`on_finding` as a bus observer)."""

    stream: TextIO
    redactor: Redactor
    live: bool
    runner: Runner | None = None
    statuses: dict[str, list[Status]] = field(default_factory=dict)
    said: dict[str, tuple[Status, str, str]] = field(default_factory=dict)  # finding key -> what was shown

    def attach(self, runner: Runner) -> None:
        self.runner = runner
        runner.on_agent_finished.append(self.agent_finished)

    def agent_finished(self, run: AgentRun) -> None:
        if not self.live:
            state = "hit the deadline" if run.deadline_hit else "done"
            self.stream.write(f"  agent {run.component} {state} in {run.duration_s:.2f}s\n")

    def on_finding(self, finding: Finding) -> None:
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
        if self.runner is not None:
            for agent in self.runner.agents:
                run = self.runner.record.agents.get(agent.component)
                state = "waiting" if run is None else ("done" if run.finished else "running")
                if run is not None and run.deadline_hit:
                    state = "deadline"
                seen = self.statuses.get(agent.component, [])
                worst = worst_status(seen)
                table.add_row(
                    agent.component, state, str(len(seen)), f"[{_STYLE[worst]}]{worst.value}[/]" if seen else "—"
                )
        yield table
