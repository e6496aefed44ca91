"""A container's environment, resolved the way the kubelet does it, with the kubelet's own error wording.

Why the wording matters: "missing secret" is one of the faults floe-agents must diagnose, and what it sees on a
real cluster is the kubelet's text (``secret "X" not found``, ``couldn't find key K in Secret ns/X``) in the
container's waiting message and in a ``Failed`` event. Resolution is re-run on every sync, so creating the
Secret later really lets the container start, as it would on a node.

Order and rules follow ``makeEnvironmentVariables``: ``envFrom`` first (keys that are not valid variable names
skipped), then ``env`` in order, where ``$(VAR)`` in a plain value expands to an earlier variable and ``$$``
escapes; ``optional`` references that are missing are skipped. ``command`` and ``args`` are expanded from the
result the same way (:func:`expand_command`).
"""

from __future__ import annotations

import base64
import math
import os
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["ConfigError", "Objects", "expand", "expand_command", "field_value", "resolve_env"]

JsonObj = dict[str, Any]
Objects = Mapping[tuple[str, str], JsonObj]  # (namespace, name) -> Secret or ConfigMap
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class ConfigError(Exception):
    """The container cannot be configured; ``str()`` is the kubelet's message."""


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: defined names are replaced, undefined ones kept, ``$$`` is a literal ``$``."""
    out, i = [], 0
    while i < len(value):
        char = value[i]
        if char != "$" or i + 1 >= len(value):
            out.append(char)
            i += 1
            continue
        nxt = value[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(" and (end := value.find(")", i + 2)) != -1:
            name = value[i + 2 : end]
            out.append(env.get(name, f"$({name})"))
            i = end + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def expand_command(container: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The container with ``$(VAR)`` in its ``command`` and ``args`` expanded from its environment, as the kubelet
    does before it creates the container (``$$(VAR)`` stays a literal ``$(VAR)``)."""
    out = dict(container)
    for field in ("command", "args"):
        if container.get(field):
            out[field] = [expand(str(arg), env) for arg in container[field]]
    return out


def _decoded(secret: JsonObj) -> dict[str, str]:
    return {k: base64.b64decode(str(v)).decode(errors="replace") for k, v in (secret.get("data") or {}).items()}


def _configmap_data(cm: JsonObj) -> dict[str, str]:
    data = {k: str(v) for k, v in (cm.get("data") or {}).items()}
    for key, value in (cm.get("binaryData") or {}).items():
        data[key] = base64.b64decode(str(value)).decode(errors="replace")
    return data


def _format_map(values: Mapping[str, Any]) -> str:
    return "\n".join(f'{k}="{v}"' for k, v in sorted(values.items()))


def field_value(pod: JsonObj, path: str) -> str:
    """A downward-API ``fieldRef`` of the pod (the lab pod's IPs are loopback)."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    if match := _SUBSCRIPT.match(path):
        return str((meta.get(match.group(1)) or {}).get(match.group(2), ""))
    simple: dict[str, Any] = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "metadata.labels": _format_map(meta.get("labels") or {}),
        "metadata.annotations": _format_map(meta.get("annotations") or {}),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP") or "127.0.0.1",
        "status.hostIPs": status.get("hostIP") or "127.0.0.1",
        "status.podIP": status.get("podIP") or "127.0.0.1",
        "status.podIPs": status.get("podIP") or "127.0.0.1",
    }
    if path not in simple:
        raise ConfigError(f'unsupported fieldRef path "{path}"')
    return str(simple[path] or "")


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def _quantity(text: str) -> float:
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    for suffix, factor in _UNITS.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def _node_allocatable(resource: str) -> float:
    if resource == "cpu":
        return float(os.cpu_count() or 1)
    if resource == "memory":
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    return 0.0


def _resource_value(container: Mapping[str, Any], ref: JsonObj) -> str:
    section, _, resource = str(ref.get("resource", "")).partition(".")
    declared = ((container.get("resources") or {}).get(section) or {}).get(resource)
    if declared is not None:
        amount = _quantity(str(declared))
    else:
        amount = _node_allocatable(resource) if section == "limits" else 0.0
    divisor = _quantity(str(ref.get("divisor") or "1")) or 1.0
    return str(math.ceil(amount / divisor))


def _lookup(kind: str, objects: Objects, namespace: str, name: str, optional: bool) -> dict[str, str] | None:
    obj = objects.get((namespace, name))
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'{kind.lower()} "{name}" not found')
    return _decoded(obj) if kind == "Secret" else _configmap_data(obj)


def _key_ref(kind: str, ref: JsonObj, objects: Objects, namespace: str) -> str | None:
    name, key, optional = str(ref.get("name", "")), str(ref.get("key", "")), bool(ref.get("optional"))
    data = _lookup(kind, objects, namespace, name, optional)
    if data is None:
        return None
    if key not in data:
        if optional:
            return None
        raise ConfigError(f"couldn't find key {key} in {kind} {namespace}/{name}")
    return data[key]


def resolve_env(pod: JsonObj, container: Mapping[str, Any], secrets: Objects, configmaps: Objects) -> dict[str, str]:
    """The container's environment; raises :class:`ConfigError` with the kubelet's message when it cannot."""
    namespace = str(pod["metadata"].get("namespace") or "default")
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        if (ref := source.get("configMapRef")) is not None:
            data = _lookup("ConfigMap", configmaps, namespace, str(ref.get("name", "")), bool(ref.get("optional")))
        elif (ref := source.get("secretRef")) is not None:
            data = _lookup("Secret", secrets, namespace, str(ref.get("name", "")), bool(ref.get("optional")))
        else:
            continue
        for key, value in (data or {}).items():
            if _ENV_NAME.match(prefix + key):
                env[prefix + key] = value
    for var in container.get("env") or []:
        name = str(var.get("name", ""))
        source = var.get("valueFrom")
        if not source:
            env[name] = expand(str(var.get("value") or ""), env)
            continue
        resolved: str | None
        if (ref := source.get("secretKeyRef")) is not None:
            resolved = _key_ref("Secret", ref, secrets, namespace)
        elif (ref := source.get("configMapKeyRef")) is not None:
            resolved = _key_ref("ConfigMap", ref, configmaps, namespace)
        elif (ref := source.get("fieldRef")) is not None:
            resolved = field_value(pod, str(ref.get("fieldPath", "")))
        elif (ref := source.get("resourceFieldRef")) is not None:
            resolved = _resource_value(container, ref)
        else:
            resolved = None
        if resolved is not None:
            env[name] = resolved
    return env
