"""The three PATCH formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and a strategic merge patch.

Why a (small) strategic merge rather than plain merge: ``kubernetes_asyncio`` sends every dict patch as
``strategic-merge-patch+json``. With plain merge semantics, patching one container's image would silently drop the
pod's other containers, and an agent tested here would learn a remediation that breaks a real cluster. So lists
the real schema merges by key (containers and env by ``name``, volumeMounts by ``mountPath``, conditions by
``type``, ...) are merged by that key, ``finalizers`` are merged as a set, and the ``$patch`` /
``$deleteFromPrimitiveList`` directives are honoured. Every other list is replaced, as the real server does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

__all__ = ["PatchError", "json_patch", "merge_patch", "strategic_merge_patch"]


class PatchError(ValueError):
    """The patch cannot be applied to this object (the caller answers 422, or 400 for a malformed patch)."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, ``null`` deletes, everything else (lists too) replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# Field name -> merge key for lists the Kubernetes schema marks `patchStrategy: merge`.
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
}
_PRIMITIVE_SETS = frozenset({"finalizers"})


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":  # container ports merge on containerPort, service ports on port
        return "containerPort" if any(isinstance(i, dict) and "containerPort" in i for i in items) else "port"
    return _MERGE_KEYS.get(field)


def _merge_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    base = copy.deepcopy(current) if isinstance(current, list) else []
    if field in _PRIMITIVE_SETS:
        return base + [v for v in patch if v not in base]
    key = _merge_key(field, base + patch)
    if key is None or not all(isinstance(i, dict) for i in patch):
        return [_strip_directives(i) for i in patch]
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if i.get("$patch") != "replace"]
    for item in patch:
        position = next(
            (n for n, old in enumerate(base) if isinstance(old, dict) and old.get(key) == item.get(key)), None
        )
        if item.get("$patch") == "delete":
            if position is not None:
                del base[position]
        elif position is None:
            base.append(_strip_directives(item))
        else:
            base[position] = strategic_merge_patch(base[position], item)
    return base


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Merge ``patch`` into ``target`` with Kubernetes' strategic-merge rules for the common keyed lists."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return _strip_directives({k: v for k, v in patch.items() if k != "$patch"})
    if patch.get("$patch") == "delete":
        return None
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [v for v in result.get(field) or [] if v not in (value or [])]
        elif key.startswith("$"):
            continue  # $setElementOrder/..., $retainKeys: ordering/pruning hints we do not need
        elif value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = value
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:  # noqa: S105 - a JSON pointer token, not a password
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"invalid array index {token!r}")
    index = int(token)
    if index > len(container) or (index == len(container) and not allow_end):
        raise PatchError(f"array index {index} out of bounds")
    return index


def _parent(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, allow_end=False)]
        else:
            raise PatchError(f"path /{'/'.join(tokens)} does not exist")
    return node


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    if isinstance(parent, dict):
        if tokens[-1] not in parent:
            raise PatchError(f"path {path} does not exist")
        return parent[tokens[-1]]
    if isinstance(parent, list):
        return parent[_index(parent, tokens[-1], allow_end=False)]
    raise PatchError(f"path {path} does not exist")


def _remove(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, tokens)
    if isinstance(parent, dict):
        if tokens[-1] not in parent:
            raise PatchError(f"unable to remove nonexistent key: {tokens[-1]}: missing value")
        return parent.pop(tokens[-1])
    if isinstance(parent, list):
        return parent.pop(_index(parent, tokens[-1], allow_end=False))
    raise PatchError(f"path {path} does not exist")


def _add(doc: Any, path: str, value: Any, *, replace: bool = False) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens)
    if isinstance(parent, dict):
        if replace and tokens[-1] not in parent:
            raise PatchError(f"replace operation does not apply: doc is missing key: {path}: missing value")
        parent[tokens[-1]] = value
    elif isinstance(parent, list):
        if replace:
            parent[_index(parent, tokens[-1], allow_end=False)] = value
        else:
            parent.insert(_index(parent, tokens[-1], allow_end=True), value)
    else:
        raise PatchError(f"path {path} does not exist")
    return doc


def _op_test(doc: Any, op: dict[str, Any]) -> Any:
    if _get(doc, op["path"]) != op.get("value"):
        raise PatchError(f"testing value {op['path']} failed: test failed")
    return doc


_OPS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "add": lambda doc, op: _add(doc, op["path"], copy.deepcopy(op["value"])),
    "replace": lambda doc, op: _add(doc, op["path"], copy.deepcopy(op["value"]), replace=True),
    "remove": lambda doc, op: (_remove(doc, op["path"]), doc)[1],
    "move": lambda doc, op: _add(doc, op["path"], _remove(doc, op["from"])),
    "copy": lambda doc, op: _add(doc, op["path"], copy.deepcopy(_get(doc, op["from"]))),
    "test": _op_test,
}


def json_patch(target: Any, operations: Any) -> Any:
    """Apply an RFC 6902 operation list to a copy of ``target``."""
    if not isinstance(operations, list):
        raise PatchError("json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in operations:
        if not isinstance(op, dict) or op.get("op") not in _OPS or "path" not in op:
            raise PatchError(f"invalid json patch operation: {op!r}")
        if op["op"] in {"add", "replace"} and "value" not in op:
            raise PatchError(f"missing value for {op['op']} operation")
        if op["op"] in {"move", "copy"} and "from" not in op:
            raise PatchError(f"missing from for {op['op']} operation")
        doc = _OPS[op["op"]](doc, op)
    return doc
