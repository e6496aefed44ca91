"""A rule's title and fix read evidence of every plain shape: a time in seconds without a trailing .0, a list of
names as one comma-separated value; anything else (a dict, a bool, NaN, an empty list) stays a placeholder."""

from __future__ import annotations

from floe_agents.findings import Finding, Status
from floe_agents.rules import fill


def test_floats_lists_and_what_stays_a_placeholder() -> None:
    ev = {"t": 3.0, "half": 2.5, "names": ["a", "b"], "nums": [1, 2], "none": [], "map": {"k": 1}, "flag": True,
          "nan": float("nan")}  # fmt: skip
    f = Finding(component="c", check="c", status=Status.FAIL, code="x.y", summary="s", evidence=ev)
    got = fill("{evidence.t}|{evidence.half}|{evidence.names}|{evidence.nums}|{evidence.none}|{evidence.map}|"
               "{evidence.flag}|{evidence.nan}", f)  # fmt: skip
    assert got == "3|2.5|a, b|1, 2|<none>|<map>|<flag>|<nan>"
