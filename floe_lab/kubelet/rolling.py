"""How far a Deployment rollout may go this sync: the deployment controller's arithmetic, as pure functions.

Why faithful arithmetic: the promise of a rolling update is that a new template that never becomes Ready does not
take the old Ready pods down — ``maxUnavailable`` (default 25%, rounded down) bounds how many desired pods may be
unavailable, ``maxSurge`` (default 25%, rounded up) how many pods may exist above the desired count, and both at
zero means one may be unavailable. For one replica that is: start the new pod beside the old one, and scale the
old ReplicaSet down only once the new pod is Ready. Unhealthy old pods are cleaned up first, as the controller
does, so they cannot block a rollout. ``Recreate`` scales every old ReplicaSet down and starts the new one only
once their pods are gone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Fenceposts", "ReplicaSetCounts", "fenceposts", "new_replicas", "old_replicas"]


@dataclass(frozen=True)
class ReplicaSetCounts:
    """A ReplicaSet as the rollout sees it: its desired replicas and how many of its pods are available."""

    uid: str
    replicas: int
    available: int
    pods: int = 0


@dataclass(frozen=True)
class Fenceposts:
    """``maxSurge`` and ``maxUnavailable`` resolved against the desired replicas (``recreate``: no rolling)."""

    surge: int
    unavailable: int
    recreate: bool = False


def _scaled(value: Any, total: int, *, round_up: bool) -> int:
    text = str(value)
    if not text.endswith("%"):
        return int(text)
    exact = int(text[:-1]) * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def fenceposts(deploy: Mapping[str, Any], replicas: int) -> Fenceposts:
    """The rollout's bounds from ``spec.strategy`` (defaults: RollingUpdate, 25%/25%)."""
    strategy = (deploy.get("spec") or {}).get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return Fenceposts(0, replicas, recreate=True)
    rolling = strategy.get("rollingUpdate") or {}
    surge = _scaled(rolling.get("maxSurge", "25%"), replicas, round_up=True)
    unavailable = _scaled(rolling.get("maxUnavailable", "25%"), replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return Fenceposts(surge, unavailable)


def new_replicas(replicas: int, bounds: Fenceposts, new: ReplicaSetCounts, olds: Sequence[ReplicaSetCounts]) -> int:
    """The new ReplicaSet's replicas after this sync."""
    if bounds.recreate:
        return replicas if not any(o.replicas or o.pods for o in olds) else new.replicas
    if new.replicas >= replicas:
        return replicas
    current = new.replicas + sum(o.replicas for o in olds)
    room = replicas + bounds.surge - current
    return min(new.replicas + max(room, 0), replicas)


def old_replicas(
    replicas: int, bounds: Fenceposts, new: ReplicaSetCounts, olds: Sequence[ReplicaSetCounts]
) -> dict[str, int]:
    """Each old ReplicaSet's replicas after this sync (oldest first in ``olds``), given the new one's."""
    wanted = {o.uid: o.replicas for o in olds}
    if bounds.recreate:
        return dict.fromkeys(wanted, 0)
    min_available = replicas - bounds.unavailable
    budget = new.replicas + sum(wanted.values()) - min_available - (new.replicas - new.available)
    if budget <= 0:
        return wanted
    for old in olds:  # unhealthy old pods go first: they must not block the rollout
        cleanup = min(budget, max(wanted[old.uid] - old.available, 0))
        wanted[old.uid] -= cleanup
        budget -= cleanup
    available = new.available + sum(min(o.available, wanted[o.uid]) for o in olds)
    spare = available - min_available
    for old in olds:
        if spare <= 0:
            break
        down = min(wanted[old.uid], spare)
        wanted[old.uid] -= down
        spare -= down
    return wanted
