"""A finding's timestamps are timezone-aware UTC (reports compare and print them as such)."""

from __future__ import annotations

from datetime import timedelta

from floe_agents.findings import Code, Finding, Status


def test_a_finding_is_stamped_in_utc() -> None:
    f = Finding(component="a", check="c", status=Status.OK, code=Code.CHECK_OK, summary="fine")
    assert f.started_at.utcoffset() == timedelta(0)
    assert f.finished_at.utcoffset() == timedelta(0)
