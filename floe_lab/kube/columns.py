"""The pieces the per-kind printers (:mod:`.printers`) are made of: column definitions, ages, field access.

Why apart: the age rule (apimachinery's ``HumanDuration``, which every AGE cell and ``kubectl`` itself use) and the
``TableColumnDefinition`` shape are shared by every kind; the printers then read as the list of columns per kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from floe_lab.kube.objects import JsonObj

__all__ = [
    "AGE",
    "NAME",
    "Cell",
    "Column",
    "Printer",
    "age",
    "dig",
    "human_duration",
    "items",
    "number",
    "or_none",
    "since",
]

Cell = str | int


@dataclass(frozen=True)
class Column:
    """One ``TableColumnDefinition``."""

    name: str
    type: str = "string"
    priority: int = 0
    format: str = ""
    description: str = ""

    def wire(self) -> JsonObj:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description or f"{self.name} of the object",
            "priority": self.priority,
        }


@dataclass(frozen=True)
class Printer:
    columns: tuple[Column, ...]
    cells: Callable[[JsonObj, datetime], list[Cell]]


def human_duration(seconds: float) -> str:
    """A duration as ``kubectl`` prints ages (apimachinery's ``HumanDuration``: 2-3 significant figures)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes, hours = s // 60, s // 3600
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return f"{days}d" if hours % 24 == 0 else f"{days}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        return f"{days // 365}y" if days % 365 == 0 else f"{days // 365}y{days % 365}d"
    return f"{days // 365}y"


def since(stamp: Any, now: datetime) -> str:
    """``translateTimestampSince``: ``<unknown>`` for a missing time."""
    if not isinstance(stamp, str) or not stamp:
        return "<unknown>"
    try:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    return human_duration((now - (at if at.tzinfo else at.replace(tzinfo=UTC))).total_seconds())


def dig(obj: JsonObj, *path: str) -> Any:
    """The value at ``path`` (None where a step is missing or not an object)."""
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def number(value: Any) -> int:
    return value if isinstance(value, int) else 0


def items(value: Any) -> list[JsonObj]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def or_none(text: str) -> str:
    return text or "<none>"


NAME = Column("Name", format="name", description="Name must be unique within a namespace.")
AGE = Column("Age", description="CreationTimestamp is the server time when this object was created.")


def age(obj: JsonObj, now: datetime) -> str:
    return since(dig(obj, "metadata", "creationTimestamp"), now)
