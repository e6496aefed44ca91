"""The installed plugins are read from the distributions once per process, and each group answers as
``importlib.metadata`` would: the same entry points, sorted by name (the order every registry relies on)."""

from __future__ import annotations

from importlib import metadata

import pytest

from floe_agents import _installed
from floe_agents._installed import entry_points


def test_a_group_is_what_importlib_lists_sorted_by_name() -> None:
    for group in ("floe_agents.probes", "floe_agents.remediations", "floe_agents.commands"):
        expected = sorted(metadata.entry_points(group=group), key=lambda ep: ep.name)
        assert list(entry_points(group=group)) == expected
        assert [ep.name for ep in entry_points(group=group)] == sorted(ep.name for ep in expected)
    assert [ep.value for ep in entry_points(group="floe_agents.targets", name="lab")] == [
        "floe_lab.cli:running_lab_targets"
    ]
    assert entry_points(group="floe_agents.targets", name="no-such") == ()


def test_the_distributions_are_scanned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    scans: list[int] = []
    real = metadata.entry_points

    def counting() -> object:
        scans.append(1)
        return real()

    monkeypatch.setattr(metadata, "entry_points", counting)
    _installed._installed.cache_clear()
    try:
        for group in ("floe_agents.probes", "floe_agents.rules", "floe_agents.commands", "floe_agents.targets"):
            entry_points(group=group)
        assert len(scans) == 1
    finally:
        _installed._installed.cache_clear()
