"""Filling a playbook step's parameters from the cause it answers and the platform it fixes.

Why strict, unlike a rule's fix text (which shows ``<key>`` for a reader to fill): these values go into writes.
A parameter that names something the cause's evidence or platform.yaml does not hold is an error that keeps the
playbook from running — the cause is then left to its manual steps — never an empty or guessed name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from floe_agents.analysis import RootCause
from floe_agents.config.platform import PlatformConfig

__all__ = ["FillError", "fill_params", "resolve", "scope_for"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.-]*)\}")


class FillError(ValueError):
    """A placeholder that does not resolve: says which and what was there instead."""


def scope_for(cause: RootCause, namespace: str, platform: PlatformConfig | None) -> dict[str, Any]:
    """What placeholders may name: ``namespace``, ``component``, ``subject``, ``evidence.*``, ``platform.*``."""
    return {
        "namespace": namespace,
        "component": cause.component,
        "subject": cause.cause.subject or cause.component,
        "evidence": dict(cause.cause.evidence),
        "platform": platform.model_dump(mode="json") if platform is not None else {},
    }


def resolve(path: str, scope: Mapping[str, Any]) -> Any:
    """The value at dotted ``path``; FillError when a part is missing or the value is empty."""
    value: Any = scope
    walked: list[str] = []
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            where = ".".join(walked) or "the cause"
            raise FillError(f"{{{path}}}: {where} has no {part!r}")
        value = value[part]
        walked.append(part)
    if value is None or (isinstance(value, str | list | dict) and not value):
        raise FillError(f"{{{path}}} is empty")
    return value


def _fill(value: Any, scope: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:  # exactly one placeholder: keep the type it resolves to (a list, a mapping, a number)
            return resolve(whole.group(1), scope)
        return _PLACEHOLDER.sub(lambda m: str(resolve(m.group(1), scope)), value)
    if isinstance(value, Mapping):
        return {k: _fill(v, scope) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_fill(v, scope) for v in value]
    return value


def fill_params(params: Mapping[str, Any], scope: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with every placeholder filled (FillError names the first that cannot be)."""
    return {k: _fill(v, scope) for k, v in params.items()}
