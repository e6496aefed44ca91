"""Reading servers' lists the forgiving way the probes always have: non-objects dropped, null read as empty.

Kubernetes objects and GraphQL answers nest lists of objects several levels deep, and a probe must never crash
on an odd one: an item that is not an object is skipped, a nested object that is null reads as empty, and an
item that does not validate is left out (:func:`parse_each`), exactly as the ``.get`` chains these models
replace treated them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, JsonValue, ValidationError

__all__ = ["JsonObject", "Lenient", "Objects", "OrNone", "dicts_only", "parse_each"]

JsonObject = dict[str, JsonValue]
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def dicts_only(value: object) -> list[object]:
    """A list's objects (anything else in it dropped); no list at all: empty."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _object_or_empty(value: object) -> object:
    return value if isinstance(value, dict) else {}


Lenient = Annotated[T, BeforeValidator(_object_or_empty)]  # a nested object; null or garbage reads as empty
Objects = Annotated[tuple[T, ...], BeforeValidator(dicts_only)]  # a list of objects (others and non-lists dropped)


def parse_each(model: type[M], items: Iterable[object]) -> list[M]:
    """Each item as ``model``; an item that does not validate is left out, as a non-object item always was."""
    out = []
    for item in items:
        try:
            out.append(model.model_validate(item))
        except ValidationError:
            continue
    return out


def _object_or_none(value: object) -> object:
    return value if isinstance(value, dict) else None


OrNone = Annotated[T | None, BeforeValidator(_object_or_none)]  # a nested object, or None for anything else
