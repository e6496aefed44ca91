"""Playbooks: declarative remediation plans, found on a search path.

A playbook says which root causes (rule ids) it fixes, the remediation steps to apply in order (each a
registered remediation with parameters), and the probes to re-run to prove the fix. Being YAML, a team can ship
its own next to ours: the search path is the built-in folder first, then each user folder (``--playbooks`` or
``FLOE_AGENTS_PLAYBOOK_PATH``), and a later playbook with the same name replaces an earlier one.
``floe-agents heal`` (floe_agents.heal) fills their parameters, plans them and applies them in phase order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeAlias

from pydantic import Field

from floe_agents._frozen import Frozen
from floe_agents.config.loading import ConfigError, load_yaml_model

__all__ = ["PHASES", "Phase", "Playbook", "PlaybookStep", "builtin_playbook_dir", "load_playbooks", "search_path"]

ENV_PATH = "FLOE_AGENTS_PLAYBOOK_PATH"


# The order heal applies playbooks in: what others need comes first (a Secret before the migration that reads
# it, the schema before the catalog's users, the catalog before its tables, restarts once all config is in, and
# re-running the pipeline — the proof that the data path works — last of all).
Phase: TypeAlias = Literal["secrets", "schema", "catalog", "data", "workloads", "pipeline"]
PHASES: tuple[Phase, ...] = ("secrets", "schema", "catalog", "data", "workloads", "pipeline")


class PlaybookStep(Frozen):
    """One remediation with its parameters. A string parameter may hold placeholders filled from the cause and the
    platform: ``{namespace}``, ``{component}``, ``{subject}``, ``{evidence.KEY}``, ``{platform.DOTTED.PATH}``; a
    value that is exactly one placeholder keeps the type it resolves to (a list, a mapping)."""

    remediation: str = Field(pattern=r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$")
    description: str = ""
    params: dict[str, Any] = Field(default_factory=dict)


class Playbook(Frozen):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    description: str
    fixes: tuple[str, ...] = Field(min_length=1, description="Root-cause rule ids this playbook fixes.")
    phase: Phase = Field(default="workloads", description="When heal applies it, relative to other playbooks.")
    risk: Literal["low", "medium", "high"] = "low"
    confirm: bool = Field(
        default=False,
        description="A person must confirm it on a terminal: `--yes` alone never applies it (data it may overwrite).",
    )
    preconditions: tuple[str, ...] = Field(
        default=(),
        description="Placeholders (e.g. 'evidence.secret_name', 'platform.catalogs') that must resolve to a "
        "non-empty value for the playbook to apply; otherwise its cause is left to its manual steps.",
    )
    steps: tuple[PlaybookStep, ...] = Field(min_length=1)
    verify: tuple[str, ...] = Field(default=(), description="Probes to re-run to prove the fix.")
    verify_timeout_s: float = Field(default=60.0, gt=0, le=900, description="How long the fix may take to show.")


def builtin_playbook_dir() -> Path:
    """``playbooks/`` in a source checkout, or the copy packaged into the wheel."""
    packaged = Path(__file__).parent / "_builtin" / "playbooks"
    return packaged if packaged.is_dir() else Path(__file__).parents[1] / "playbooks"


def search_path(user_dirs: Iterable[Path] = (), env: Mapping[str, str] | None = None) -> list[Path]:
    env = os.environ if env is None else env
    from_env = [Path(p) for p in env.get(ENV_PATH, "").split(os.pathsep) if p]
    return [builtin_playbook_dir(), *from_env, *user_dirs]


def load_playbooks(paths: Iterable[Path]) -> dict[str, Playbook]:
    """Every ``*.yaml`` playbook on ``paths`` by name; later folders override earlier ones."""
    found: dict[str, Playbook] = {}
    for folder in paths:
        if not folder.is_dir():
            if folder.exists():
                raise ConfigError(folder, "playbook path is not a folder")
            continue
        for file in sorted(folder.glob("*.yaml")):
            playbook = load_yaml_model(Playbook, file)
            if playbook.name != file.stem:
                raise ConfigError(file, f"playbook name {playbook.name!r} must match the file name", field="name")
            found[playbook.name] = playbook
    return found
