"""The installed plugins (entry points), read from the distributions once per process.

Why: ``importlib.metadata.entry_points`` reads every installed distribution's ``entry_points.txt`` on each call —
15-25 ms beside Dagster's dependencies — and one `investigate` asks for four groups (commands, targets, probes,
rules). The scan is an immutable snapshot of what is installed when the process first asks, which is also what
a running process can import.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from typing import Any

__all__ = ["entry_points"]


@cache
def _installed() -> Any:
    """Every installed entry point (EntryPoints on Python 3.12+, 3.11's SelectableGroups): both ``select``."""
    return metadata.entry_points()


def entry_points(*, group: str, name: str | None = None) -> tuple[metadata.EntryPoint, ...]:
    """The entry points of ``group`` (only ``name``'s when given), sorted by name."""
    selected = _installed().select(group=group) if name is None else _installed().select(group=group, name=name)
    return tuple(sorted(selected, key=lambda ep: ep.name))
