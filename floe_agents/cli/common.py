"""How ``investigate`` and ``heal`` build a run's plan from the files they are given.

Why here: both take the same files and options and must read them the same way (one line and exit 3 for every
problem, never a traceback). The option checks typer calls while parsing are in :mod:`floe_agents.cli.options`.
"""

from __future__ import annotations

from pathlib import Path

from floe_agents.cli.plugins import named_target
from floe_agents.config import ConfigError, PlatformConfig, load_targets, load_yaml_model
from floe_agents.registry import Registry
from floe_agents.rules import rules_for
from floe_agents.runner import RunOptions
from floe_agents.swarm import Plan

__all__ = ["build_plan"]


def _target_path(target: str | None) -> Path | None:
    """``--target``: a file, or a name a plugin answers for (``lab``: the running lab's targets file)."""
    if target is None:
        return None
    path = Path(target)
    if "/" in target or "." in target:
        return path  # a path: reading it says what is wrong with it (missing, unreadable), in one line
    try:
        if path.exists():
            return path
    except OSError:  # a folder we may not enter (PermissionError): reading it will say so
        return path
    return named_target(target) or path


def _names(values: list[str] | None) -> frozenset[str]:
    return frozenset(n.strip() for v in values or () for n in v.split(",") if n.strip())


def build_plan(
    config: Path | None,
    target: str | None,
    only: list[str] | None,
    skip: list[str] | None,
    timeout: float,
    concurrency: int,
    rules: list[Path] | None = None,
) -> Plan:
    target_path = _target_path(target)
    targets = load_targets(target_path)
    if config is None and targets.platform and target_path is not None:
        config = target_path.parent / targets.platform
    platform = load_yaml_model(PlatformConfig, config) if config else None
    only_set, skip_set = _names(only), _names(skip)
    unknown = sorted((only_set | skip_set) - set(targets.components))
    if unknown:
        known = ", ".join(sorted(targets.components))
        raise ConfigError("--only/--skip", f"unknown component(s) {', '.join(unknown)} (known: {known})")
    registry = Registry.from_entry_points()
    return Plan(
        targets=targets,
        registry=registry,
        platform=platform,
        only=only_set,
        skip=skip_set,
        options=RunOptions(deadline_s=timeout, concurrency=concurrency),
        rules=rules_for(registry, rules or []),
    )
