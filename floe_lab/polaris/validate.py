"""Request checks Polaris makes before any handler logic: JSON types, entity names, namespace levels.

Why a module of its own: a wrongly typed body or a bad name must fail the way Polaris fails — 400 with the
Iceberg ErrorModel — and never reach code that assumes a shape (which turned ``"properties": [...]`` into a 500).
Polaris gets these answers from three places, mimicked here:

- Jackson, binding a body to the generated request classes: a value of the wrong JSON type is a
  ``MismatchedInputException`` (400, ``Cannot deserialize value of type ... from Array value ...``), mapped by
  ``IcebergJsonProcessingExceptionMapper``; Iceberg's own parsers say ``Cannot parse missing field: type``.
- Bean Validation on the management spec's name schema (``minLength: 1``, ``maxLength: 256``, pattern
  ``^(?!\\s*[sS][yY][sS][tT][eE][mM]\\$).*$``, where Java's ``.`` matches no line terminator): a
  ``ConstraintViolationException`` (400, ``Invalid value: ...``), mapped by
  ``IcebergConstraintViolationExceptionMapper``.
- ``EntityNameValidator`` (Polaris >= 1.6) on every namespace level and table name a request *creates*:
  ``IllegalArgumentException`` (400) for an empty name, control characters, ``/\\:*?"<>|#+``` and leading or
  trailing whitespace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from floe_lab.polaris import errors

__all__ = [
    "NAME_PATTERN",
    "entity_name",
    "iceberg_name",
    "int_field",
    "mismatched",
    "namespace_levels",
    "object_field",
    "string_list",
    "string_map",
]

NAME_PATTERN = r"^(?!\s*[sS][yY][sS][tT][eE][mM]\$).*$"
_JAVA_LINE_TERMINATORS = re.compile("[\n\r\u0085\u2028\u2029]")
_SYSTEM = re.compile(r"\s*system\$", re.IGNORECASE)  # the pattern's negative look-ahead
_FORBIDDEN = '/\\:*?"<>|#+`'
_MAP = "java.util.HashMap<java.lang.String,java.lang.String>"
_LIST = "java.util.ArrayList<java.lang.String>"


def _token(value: Any) -> str:
    """How Jackson names the JSON value it found."""
    if isinstance(value, list):
        return "Array value (token `JsonToken.START_ARRAY`)"
    if isinstance(value, dict):
        return "Object value (token `JsonToken.START_OBJECT`)"
    if isinstance(value, bool):
        return f"Boolean value (token `JsonToken.VALUE_{str(value).upper()}`)"
    if isinstance(value, int):
        return "Integer value (token `JsonToken.VALUE_NUMBER_INT`)"
    if isinstance(value, float):
        return "Floating-point value (token `JsonToken.VALUE_NUMBER_FLOAT`)"
    return "String value (token `JsonToken.VALUE_STRING`)"


def mismatched(java_type: str, value: Any) -> errors.PolarisError:
    """Jackson's answer to a JSON value of the wrong type."""
    return errors.PolarisError(
        400,
        "MismatchedInputException",
        f"Cannot deserialize value of type `{java_type}` from {_token(value)}",
    )


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def string_map(raw: Any) -> dict[str, str]:
    """``Map<String, String>`` (properties, updates): absent or null is empty; scalars coerce like Jackson."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise mismatched(_MAP, raw)
    out: dict[str, str] = {}
    for key, value in raw.items():
        if value is not None and not _scalar(value):
            raise mismatched("java.lang.String", value)
        out[str(key)] = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
    return out


def string_list(raw: Any) -> list[str]:
    """``List<String>`` (removals, allowed locations, namespace levels): absent or null is empty."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise mismatched(_LIST, raw)
    for item in raw:
        if not isinstance(item, str):
            raise mismatched("java.lang.String", item)
    return list(raw)


def object_field(body: Mapping[str, Any], key: str, java_type: str) -> dict[str, Any] | None:
    """A nested object (``catalog``, ``principal``, ``grant``...); ``None`` when absent or null."""
    value = body.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise mismatched(java_type, value)


def int_field(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise mismatched("java.lang.Integer", value)
    return value


def entity_name(raw: Any, where: str) -> str:
    """A management-API name (catalog, principal, role) as Bean Validation checks it; ``where`` is the path
    Polaris prints (``createCatalog.request.catalog.name``)."""
    if raw is None:
        raise errors.PolarisError(400, "ConstraintViolationException", f"Invalid value: {where}: must not be null")
    if not isinstance(raw, str):
        raise mismatched("java.lang.String", raw)
    if not 1 <= len(raw) <= 256:
        raise errors.PolarisError(
            400, "ConstraintViolationException", f"Invalid value: {where}: size must be between 1 and 256"
        )
    if _JAVA_LINE_TERMINATORS.search(raw) or _SYSTEM.match(raw):
        raise errors.PolarisError(
            400, "ConstraintViolationException", f'Invalid value: {where}: must match "{NAME_PATTERN}"'
        )
    return raw


def iceberg_name(name: str) -> str:
    """``EntityNameValidator.validateName``: a namespace level or table name being created."""
    if not name:
        raise errors.illegal_argument("Entity name must not be empty")
    if name in (".", ".."):
        raise errors.illegal_argument("Entity name must not be '.' or '..'")
    for index, char in enumerate(name):
        if ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F:
            shown = "".join(f"\\u{ord(c):04X}" if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F else c for c in name)
            raise errors.illegal_argument(
                f"Entity name must not contain control characters (U+{ord(char):04X}): {shown}"
            )
        if char in _FORBIDDEN:
            raise errors.illegal_argument(f"Entity name must not contain '{char}': {name}")
        if index in (0, len(name) - 1) and char.isspace():
            raise errors.illegal_argument(f"Entity name must not have leading or trailing whitespace: {name}")
    return name


def namespace_levels(raw: Any) -> tuple[str, ...]:
    """A namespace in a request body (``["a", "b"]``), each level checked as a name being created."""
    return tuple(iceberg_name(level) for level in string_list(raw))
