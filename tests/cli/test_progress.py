"""The progress view, fed the run's events by hand: plain lines without a terminal, the per-agent table on one."""

from __future__ import annotations

import io
from types import MappingProxyType

from rich.console import Console

from floe_agents.cli.progress import Progress
from floe_agents.events import AgentDeadlineHit, AgentFinished, AgentStarted, FindingPosted, RunStarted
from floe_agents.findings import Code, Finding, Status
from floe_agents.redact import Redactor


def finding(status: Status, code: str, summary: str, component: str = "a") -> FindingPosted:
    return FindingPosted(Finding(component=component, check="tcp", status=status, code=code, summary=summary))


def test_plain_lines_name_each_problem_once_and_each_finished_agent() -> None:
    out = io.StringIO()
    progress = Progress(stream=out, redactor=Redactor.of(["s3cr3t"]), live=False)
    for event in (
        RunStarted(("a", "b")),
        AgentStarted("a"),
        AgentStarted("b"),
        finding(Status.OK, Code.TCP_OPEN, "open"),
        finding(Status.FAIL, Code.TCP_REFUSED, "refused with s3cr3t", component="b"),
        finding(Status.FAIL, Code.TCP_REFUSED, "refused with s3cr3t", component="b"),  # the same verdict again
        AgentFinished("a", 0.123, MappingProxyType({"tcp": 0.1})),
        AgentDeadlineHit("b", ("tcp",)),
        AgentFinished("b", 2.5, deadline_hit=True),
    ):
        progress(event)
    assert out.getvalue() == (
        "  fail    b/tcp tcp.refused: refused with ***REDACTED***\n"
        "  agent a done in 0.12s\n"
        "  agent b hit the deadline in 2.50s\n"
    )


def test_live_table_shows_each_planned_agent_state() -> None:
    out = io.StringIO()
    progress = Progress(stream=out, redactor=Redactor(), live=True)
    for event in (
        RunStarted(("a", "b", "c", "d")),
        AgentStarted("a"),
        AgentStarted("b"),
        AgentStarted("c"),
        finding(Status.FAIL, Code.TCP_REFUSED, "refused"),
        AgentFinished("a", 0.1),
        AgentDeadlineHit("c", ("tcp",)),
    ):
        progress(event)
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(progress)
    table = console.file.getvalue()  # type: ignore[attr-defined]
    rows = {line.split("│")[1].strip(): line for line in table.splitlines() if line.count("│") == 5}
    assert [r.split("│")[2].strip() for r in rows.values()] == ["done", "running", "deadline", "waiting"]
    assert rows["a"].split("│")[3].strip() == "1" and "fail" in rows["a"] and "—" in rows["d"]
    assert out.getvalue() == ""  # on a terminal nothing but the table is drawn
