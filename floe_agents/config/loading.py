"""Loading YAML into pydantic models with errors a person can act on.

A bad config at 3 a.m. must produce one line — file, field, problem — never a pydantic dump or a traceback.
Every YAML file the tool reads (``--config``, ``--target``, ``--rules``, playbooks, the file ``platform:`` points
to) goes through :func:`parse_yaml`, which refuses, as a :class:`ConfigError`, what a config never needs and a
hostile or broken file could use to hang or exhaust the tool: more than :data:`MAX_BYTES` (refused before the
file is read whole), nesting deeper than :data:`MAX_DEPTH`, aliases expanding past :data:`MAX_NODES` nodes (the
"billion laughs"), a key written twice in one mapping (YAML keeps the last one silently), and an empty document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "ConfigError",
    "load_yaml_model",
    "parse_yaml",
    "quote",
    "read_text",
    "read_yaml",
]

M = TypeVar("M", bound=BaseModel)

MAX_BYTES = 1024 * 1024  # 1 MiB: the largest real config is a few KB
MAX_DEPTH = 64  # nesting levels (mappings and sequences); real configs use fewer than 10
MAX_NODES = 200_000  # nodes once aliases are expanded
_QUOTE_CHARS = 80
_MERGE_TAG = "tag:yaml.org,2002:merge"


def quote(value: object, limit: int = _QUOTE_CHARS) -> str:
    """``repr(value)`` cut to about ``limit`` characters: a message may name a value, never echo a huge one."""
    text = repr(value) if isinstance(value, str) else repr(str(value))
    return text if len(text) <= limit else f"{text[: limit - 1]}…' ({len(str(value))} characters)"


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


class ConfigError(Exception):
    """A configuration file cannot be used. ``str()`` is the whole, user-facing message: one line."""

    def __init__(self, path: Path | str, problem: str, field: str | None = None) -> None:
        self.path = _cap(" ".join(str(path).split()), 300)
        self.field = _cap(" ".join(field.split()), 200) if field is not None else None
        self.problem = _cap(" ".join(problem.split()), 400)
        where = f"{self.path}: {self.field}: " if self.field else f"{self.path}: "
        super().__init__(where + self.problem)


class _LimitError(yaml.YAMLError):
    def __init__(self, problem: str, node_or_mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = getattr(node_or_mark, "start_mark", node_or_mark)


class _BoundedComposer(Composer):
    """The composer, counting depth and expanded size as it goes (it recurses once per level)."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._deepest = 0
        self._nodes = 0
        self._sizes: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, height)

    def _count(self, nodes: int, height: int, mark: Any) -> None:
        self._nodes += nodes
        self._deepest = max(self._deepest, self._depth + height - 1)
        if self._deepest > MAX_DEPTH:
            raise _LimitError(f"nested deeper than {MAX_DEPTH} levels", mark)
        if self._nodes > MAX_NODES:
            raise _LimitError(f"more than {MAX_NODES} values (counting each alias expanded)", mark)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self._depth += 1
        try:
            if self.check_event(yaml.AliasEvent):  # type: ignore[attr-defined]
                event = self.peek_event()  # type: ignore[attr-defined]
                node: Node = super().compose_node(parent, index)  # type: ignore[assignment]
                nodes, height = self._sizes.get(event.anchor, (1, 1))
                self._count(nodes, height, event.start_mark)
                return node
            event = self.peek_event()  # type: ignore[attr-defined]
            self._count(1, 1, event.start_mark)
            before, deepest = self._nodes, self._deepest
            self._deepest = self._depth
            node = super().compose_node(parent, index)  # type: ignore[assignment]
            if event.anchor is not None:
                self._sizes[event.anchor] = (self._nodes - before + 1, self._deepest - self._depth + 1)
            self._deepest = max(deepest, self._deepest)
            return node
        finally:
            self._depth -= 1


class _StrictConstructor(SafeConstructor):
    """Safe construction, refusing a key written twice in one mapping (merged ``<<`` keys may be overridden)."""

    def __init__(self) -> None:
        super().__init__()
        self._checked: set[int] = set()

    def flatten_mapping(self, node: MappingNode) -> None:
        if id(node) not in self._checked:  # before flattening: only the keys written in this mapping
            self._checked.add(id(node))
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node)
                if key in seen:
                    raise _LimitError(f"duplicate key {quote(key)} (first at line {seen[key]})", key_node)
                seen[key] = key_node.start_mark.line + 1
        super().flatten_mapping(node)


class _PyParser(Reader, Scanner, Parser):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


# libyaml's parser (the events) under our Python composer and constructor: several times faster than pure Python.
_EventSource: type[Any]
try:
    from yaml import cyaml

    _EventSource = cyaml.CParser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _EventSource = _PyParser


class _SafeLoader(_BoundedComposer, _EventSource, _StrictConstructor, Resolver):  # type: ignore[misc]
    def __init__(self, stream: str) -> None:
        _EventSource.__init__(self, stream)
        _BoundedComposer.__init__(self)
        _StrictConstructor.__init__(self)
        Resolver.__init__(self)


def parse_yaml(text: str, origin: Path | str) -> Any:
    """``text`` (from ``origin``) as data, within the limits above; an empty document is an error."""
    if len(text) > MAX_BYTES:
        raise ConfigError(origin, f"file too large ({len(text)} characters; the limit is {MAX_BYTES} bytes)")
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except RecursionError:
        raise ConfigError(origin, f"invalid YAML: nested deeper than {MAX_DEPTH} levels") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if problem == "exceeded maximum nesting depth":  # libyaml's own bound (1000 levels), said like ours
            problem = f"nested deeper than {MAX_DEPTH} levels"
        raise ConfigError(origin, f"invalid YAML{where}: {problem}") from None
    finally:
        loader.dispose()
    if data is None:
        raise ConfigError(origin, "file is empty (expected a YAML mapping)")
    return data


def read_text(path: Path) -> str:
    """The file's text, refusing (before reading it whole) one larger than :data:`MAX_BYTES`."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(path, "file not found") from None
    except IsADirectoryError:
        raise ConfigError(path, "is a directory, expected a YAML file") from None
    except OSError as exc:
        raise ConfigError(path, f"cannot read file ({exc.__class__.__name__}: {exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(path, f"file too large (more than {MAX_BYTES} bytes; a config is a few KB)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, f"not UTF-8 text (byte {exc.start})") from None


def read_yaml(path: Path) -> Any:
    """The YAML file at ``path`` as data, through :func:`parse_yaml`."""
    return parse_yaml(read_text(path), path)


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        name = _cap(str(part), 60)
        out += f"[{part}]" if isinstance(part, int) else (f".{name}" if out else name)
    return out or "(top level)"


def validate_model(model: type[M], data: Any, path: Path | str) -> M:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(path, f"expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = "unknown field (not in the schema)"
        raise ConfigError(path, msg + suffix, field=_field_path(tuple(first["loc"]))) from None


def load_yaml_model(model: type[M], path: Path) -> M:
    """Read ``path`` as YAML and validate it as ``model``; any problem becomes a :class:`ConfigError`."""
    return validate_model(model, read_yaml(path), path)
