"""Where a cause stands after a fix, read from its own check only (heal/engine.py ``_standing``): the verdict that
decides whether a fix is verified, and that a probe crashing on a busy machine must never turn into "fixed"."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from floe_agents.findings import Code, Finding, Status
from floe_agents.heal.engine import _standing


def _f(status: Status, code: str, *, component: str = "b", check: str = "has_catalog", subject: str = "x") -> Finding:
    return Finding(component=component, check=check, status=status, code=code, summary=code, subject=subject)


def _inv(*findings: Finding) -> Any:
    return SimpleNamespace(analysis=SimpleNamespace(findings=list(findings)))


def test_where_a_cause_stands_is_read_from_its_own_check_only() -> None:
    """_standing: the cause's own key still a problem → stands; unknown → unobserved; passing → gone; absent from
    a probe that finished → gone, but absent because that very probe crashed or timed out → unobserved. Another
    check on the component, or the same check elsewhere, crashing says nothing about this cause."""
    cause = _f(Status.FAIL, "t.missing")
    assert _standing(cause, _inv(cause)) == "stands"
    assert _standing(cause, _inv(_f(Status.UNKNOWN, "t.undecided"))) == "unobserved"
    assert _standing(cause, _inv(_f(Status.OK, "t.ok"))) == "gone"
    assert _standing(cause, _inv(_f(Status.OK, "t.ok", subject="other"))) == "gone"  # finished, without it
    crashed = _f(Status.UNKNOWN, str(Code.PROBE_CRASHED), subject="")
    assert _standing(cause, _inv(crashed)) == "unobserved"
    elsewhere = [_f(Status.UNKNOWN, str(Code.PROBE_TIMEOUT), subject="", check="tcp"),
                 _f(Status.UNKNOWN, str(Code.PROBE_TIMEOUT), subject="", component="a")]  # fmt: skip
    assert _standing(cause, _inv(*elsewhere)) == "gone"
