"""Label and field selectors with the apiserver's grammar and matching rules.

Why it matters: agents find a component's pods with ``app=x`` / ``app in (a,b)`` and the events about an object with
``involvedObject.name=x``. The subtle rules are the real ones: ``!=`` and ``notin`` also match objects *without*
the key, a field selector on an unsupported field is a 400 (not an empty list), and an empty selector matches all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from floe_lab.kube.errors import bad_request
from floe_lab.kube.resources import ResourceType

__all__ = ["ObjectFilter", "Requirement", "compile_filter", "parse_label_selector", "selector_string"]

_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_NOT_EXISTS = re.compile(rf"^!\s*({_KEY})$")
_SET = re.compile(rf"^({_KEY})\s+(in|notin)\s*\(([^()]*)\)$")
_COMPARE = re.compile(rf"^({_KEY})\s*(==|!=|=|>|<)\s*({_VALUE})$")
_EXISTS = re.compile(rf"^({_KEY})$")
_VALUE_ONLY = re.compile(rf"^{_VALUE}$")


@dataclass(frozen=True)
class Requirement:
    """``key <op> values``; op is one of ``=``, ``!=``, ``in``, ``notin``, ``exists``, ``!``, ``gt``, ``lt``."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op in {"=", "in"}:
            return present and value in self.values
        if self.op in {"!=", "notin"}:
            return not present or value not in self.values
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        try:
            number, bound = int(value or ""), int(self.values[0])
        except ValueError:
            return False
        return number > bound if self.op == "gt" else number < bound


def _split_top_level(selector: str) -> list[str]:
    parts: list[str] = []
    depth, current = 0, list[str]()
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_label_selector(selector: str | None) -> list[Requirement]:
    """Parse ``a=b,c!=d,e in (f,g),h notin (i),j,!k``; raises a 400 ``ApiError`` as the apiserver does."""
    if selector is None or not selector.strip():
        return []
    reqs: list[Requirement] = []
    for part in _split_top_level(selector):
        if m := _NOT_EXISTS.match(part):
            reqs.append(Requirement(m.group(1), "!"))
        elif m := _SET.match(part):
            values = tuple(v.strip() for v in m.group(3).split(","))
            if not all(_VALUE_ONLY.match(v) for v in values):
                raise bad_request(f"unable to parse requirement: invalid label value in {part!r}")
            reqs.append(Requirement(m.group(1), m.group(2), values))
        elif m := _COMPARE.match(part):
            op = {"==": "=", ">": "gt", "<": "lt"}.get(m.group(2), m.group(2))
            reqs.append(Requirement(m.group(1), op, (m.group(3),)))
        elif m := _EXISTS.match(part):
            reqs.append(Requirement(m.group(1), "exists"))
        else:
            raise bad_request(
                f"unable to parse requirement: found '{part}', expected: key, '!', 'in', 'notin', '=', '==', '!='"
            )
    return reqs


def _field_value(obj: Mapping[str, Any], path: str) -> str:
    if path == "source":  # events: `source` selects on source.component
        path = "source.component"
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return ""
        node = node.get(part)
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def _parse_field_selector(rt: ResourceType, selector: str | None) -> list[tuple[str, bool, str]]:
    if selector is None or not selector.strip():
        return []
    terms: list[tuple[str, bool, str]] = []
    for part in selector.split(","):
        m = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$", part)
        if m is None:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{part}'")
        if m.group(1) not in rt.field_labels:
            raise bad_request(f"field label not supported: {m.group(1)}")
        terms.append((m.group(1), m.group(2) != "!=", m.group(3)))
    return terms


@dataclass(frozen=True)
class ObjectFilter:
    """A compiled label + field selector for one resource type."""

    labels: tuple[Requirement, ...] = ()
    fields: tuple[tuple[str, bool, str], ...] = ()

    def matches(self, obj: Mapping[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        labels = meta.get("labels") or {}
        if not all(r.matches(labels) for r in self.labels):
            return False
        return all((_field_value(obj, path) == value) == equal for path, equal, value in self.fields)

    @property
    def empty(self) -> bool:
        return not self.labels and not self.fields


def compile_filter(rt: ResourceType, label_selector: str | None, field_selector: str | None) -> ObjectFilter:
    return ObjectFilter(tuple(parse_label_selector(label_selector)), tuple(_parse_field_selector(rt, field_selector)))


def selector_string(selector: Mapping[str, Any] | None) -> str:
    """Render a ``LabelSelector`` object (``matchLabels`` + ``matchExpressions``) as selector text."""
    if not selector:
        return ""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    ops: dict[str, Callable[[str, list[str]], str]] = {
        "In": lambda k, vs: f"{k} in ({','.join(vs)})",
        "NotIn": lambda k, vs: f"{k} notin ({','.join(vs)})",
        "Exists": lambda k, _: k,
        "DoesNotExist": lambda k, _: f"!{k}",
    }
    for expr in selector.get("matchExpressions") or []:
        render = ops.get(str(expr.get("operator")))
        if render is not None:
            parts.append(render(str(expr.get("key")), sorted(str(v) for v in expr.get("values") or [])))
    return ",".join(parts)
