"""Every Secret and ConfigMap key a pod references, and which of them resolve to nothing.

A pod that references a Secret or ConfigMap that does not exist (or lacks the key) is never created: that is
the root cause of every failure of what it serves, and the one thing to fix. So each reference is collected
with what it fills (env ``valueFrom``, ``envFrom``, a volume with or without ``items``, a projected volume's
sources, an image pull secret), required or ``optional: true``, and judged against what exists: one verdict per
missing object or key, however many pods reference it. An optional reference that resolves to nothing does not
stop the pod; it starts with the variable unset or the mount empty, which breaks it quietly (telemetry that
never leaves, a setting that falls back), so it is a warning naming the variable or mount, and the variable is
what a failure elsewhere is linked to. An optional ``envFrom`` is not reported: it names no variable (and the
Dagster chart gives every user deployment an optional Celery Secret most installs never create).

Secrets are read by name, the names pods reference, never listed: the probe needs ``get`` on Secrets, not the
right to read every Secret of the namespace. Their data is reduced to key names as it is parsed.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import ValidationError

from floe_agents.findings import Severity, Status
from floe_agents.gather import gather
from floe_agents.probes._kube_api import KubeError, call
from floe_agents.probes._kube_components import Where, comp_of, workload_of
from floe_agents.probes._models.kube import KeyStore, Pod
from floe_agents.probes._verdict import Verdict

if TYPE_CHECKING:
    from kubernetes_asyncio import client

__all__ = ["MAX_SECRETS", "Reference", "Stores", "empty_vars", "optional_obs", "read_secrets", "reference_obs",
           "referenced", "references"]  # fmt: skip

MAX_SECRETS = 64  # Secrets read by name in one run at most
_LABEL = {"secret": "Secret", "configmap": "ConfigMap"}


@dataclass(frozen=True)
class Reference:
    """One reference of a pod to a Secret/ConfigMap (``key`` None: the object as a whole) and what it fills."""

    kind: str  # secret | configmap
    name: str
    key: str | None = None
    optional: bool = False
    container: str | None = None
    env_var: str | None = None  # the variable it sets (env valueFrom)
    volume: str | None = None  # the volume it fills
    env_from: bool = False


def references(pod: Pod) -> list[Reference]:
    """Every Secret/ConfigMap reference of ``pod``, required and optional."""
    spec, refs = pod.spec, list[Reference]()
    for ctr in spec.init_containers + spec.containers:
        for env in ctr.env:
            value_from = env.value_from
            for kind, ref in (("secret", value_from.secret_key_ref), ("configmap", value_from.config_map_key_ref)):
                if ref is not None and ref.name:
                    refs.append(Reference(kind, ref.name, ref.key, bool(ref.optional), ctr.name, env.name))
        for src in ctr.env_from:
            for kind, ref in (("secret", src.secret_ref), ("configmap", src.config_map_ref)):
                if ref is not None and ref.name:
                    refs.append(Reference(kind, ref.name, None, bool(ref.optional), ctr.name, env_from=True))
    for vol in spec.volumes:
        for source in (vol, *vol.projected.sources):
            secret, config_map = source.secret, source.config_map
            found = [("secret", secret.secret_name, secret.optional, secret.items)] if secret else []
            found += [("configmap", config_map.name, config_map.optional, config_map.items)] if config_map else []
            for kind, name, optional, items in found:
                if name:
                    keys = [i.key for i in items] or [None]
                    refs += [Reference(kind, name, k, bool(optional), volume=vol.name) for k in keys]
    return refs + [Reference("secret", s.name) for s in spec.image_pull_secrets if s.name]


def _running(pods: Iterable[Pod]) -> list[Pod]:
    return [p for p in pods if p.status.phase not in ("Succeeded", "Failed")]  # a finished pod got what it needed


def referenced(pods: Iterable[Pod], kind: str) -> list[str]:
    """The names of the ``kind`` objects the pods that have not finished reference, sorted."""
    return sorted({r.name for p in _running(pods) for r in references(p) if r.kind == kind})


@dataclass(frozen=True)
class Stores:
    """What exists: per kind, the key names of each object read. A kind in ``whole`` was listed whole, so an
    object not in it does not exist; the others were read by name, and ``missing`` holds the names the API said
    do not exist (any other name could not be read, so references to it are not judged)."""

    keys: Mapping[str, Mapping[str, frozenset[str]]]
    missing: Mapping[str, frozenset[str]] = field(default_factory=dict)
    whole: frozenset[str] = frozenset()

    def judged(self, kind: str, name: str) -> bool:
        known = self.keys.get(kind, {})
        return kind in self.whole or name in known or name in self.missing.get(kind, frozenset())

    def keys_of(self, kind: str, name: str) -> frozenset[str] | None:
        """The object's key names; None when it does not exist."""
        return self.keys.get(kind, {}).get(name)

    def resolves(self, ref: Reference) -> bool:
        keys = self.keys_of(ref.kind, ref.name)
        return keys is not None and (ref.key is None or ref.key in keys)


async def _read_secret(core: client.CoreV1Api, namespace: str, name: str) -> KeyStore | KubeError | None:
    try:
        body = await call(core.read_namespaced_secret, name, namespace)
    except KubeError as exc:
        return None if exc.evidence.get("status") == 404 else exc  # 404 Not Found: it does not exist
    try:
        return KeyStore.model_validate(json.loads(body))  # reduced to key names here: the values are not kept
    except (ValueError, ValidationError):
        return KubeError("k8s.api_bad_response", f"Secret {name}: the answer is not a Secret")


async def read_secrets(
    core: client.CoreV1Api, namespace: str, names: list[str]
) -> tuple[dict[str, frozenset[str]], frozenset[str], dict[str, KubeError]]:
    """Each of the first :data:`MAX_SECRETS` ``names`` read by name: their key names, the names that do not
    exist, and the error of each that could not be read."""
    wanted = names[:MAX_SECRETS]
    read = await gather(functools.partial(_read_secret, core, namespace, name) for name in wanted)
    keys = {name: r.keys for name, r in zip(wanted, read, strict=True) if isinstance(r, KeyStore)}
    errors = {name: r for name, r in zip(wanted, read, strict=True) if isinstance(r, KubeError)}
    return keys, frozenset(n for n, r in zip(wanted, read, strict=True) if r is None), errors


@dataclass
class _Uses:
    pods: set[str] = field(default_factory=set)
    components: set[str] = field(default_factory=set)
    env_vars: set[str] = field(default_factory=set)
    mounts: set[str] = field(default_factory=set)
    workloads: set[str] = field(default_factory=set)


def _unresolved(pods: list[Pod], stores: Stores, where: Where, *, optional: bool) -> dict[tuple[str, str, str | None],
                                                                                          _Uses]:  # fmt: skip
    """The judged references (``optional`` or required) that resolve to nothing, grouped by (kind, name, key)."""
    out: dict[tuple[str, str, str | None], _Uses] = defaultdict(_Uses)
    for pod in _running(pods):
        mounts = {m.name: f"{c.name}:{m.mount_path}" for c in pod.spec.init_containers + pod.spec.containers
                  for m in c.volume_mounts}  # fmt: skip
        for ref in references(pod):
            if ref.optional != optional or (optional and ref.env_from) or not stores.judged(ref.kind, ref.name):
                continue
            if stores.resolves(ref):
                continue
            uses = out[(ref.kind, ref.name, ref.key)]
            uses.pods.add(pod.name)
            uses.components.add(where(pod))
            uses.env_vars.update([ref.env_var] if ref.env_var else [])
            uses.mounts.update([mounts[ref.volume]] if ref.volume in mounts else [])
            uses.workloads.add("{}/{}".format(*workload_of(pod)).lower())
    return out


def _holders(stores: Stores, kind: str, name: str, key: str | None) -> list[str]:
    """The other objects of ``kind`` this run read that hold ``key``: where a missing key's value most likely
    lives already (a chart's shared credentials Secret that other pods read), so a fix can copy it from there
    under whatever name this deployment gave it. Sorted; empty for a whole-object reference."""
    if key is None:
        return []
    return sorted(other for other, keys in stores.keys.get(kind, {}).items() if other != name and key in keys)


def reference_obs(pods: list[Pod], stores: Stores, where: Where = comp_of) -> list[Verdict]:
    """One verdict per missing Secret/ConfigMap (or key) a pod needs, filed under the first component
    referencing it."""
    out = []
    unresolved = _unresolved(pods, stores, where, optional=False)
    for (kind, name, key), uses in sorted(unresolved.items(), key=lambda kv: str(kv[0])):
        keys = stores.keys_of(kind, name)
        pods_text, env, components = ", ".join(sorted(uses.pods)), sorted(uses.env_vars), sorted(uses.components)
        summary = (f"{_LABEL[kind]} {name} referenced by {pods_text} does not exist" if keys is None
                   else f"{_LABEL[kind]} {name} has no key {key!r} (referenced by {pods_text})")  # fmt: skip
        code = f"k8s.{kind}_missing" if keys is None else f"k8s.{kind}_key_missing"
        sources = _holders(stores, kind, name, key)
        ev = {f"{kind}_name": name, "key": key, "referenced_by": sorted(uses.pods), "components": components,
              "env_var": env[0] if env else None, "env_vars": env, "exists": keys is not None,
              f"source_{kind}_name": sources[0] if sources else None, "source_candidates": sources}  # fmt: skip
        # Critical: no container that needs it can even be created, so nothing those pods serve exists.
        out.append(Verdict(Status.FAIL, code, summary, ev, f"{kind}/{name}/{key or '*'}", components[0],
                           Severity.CRITICAL))  # fmt: skip
    return out


def optional_obs(pods: list[Pod], stores: Stores, where: Where = comp_of) -> list[Verdict]:
    """One warning per optional reference (env var or volume) that resolves to nothing, naming what it leaves
    unset or empty."""
    out = []
    unresolved = _unresolved(pods, stores, where, optional=True)
    for (kind, name, key), uses in sorted(unresolved.items(), key=lambda kv: str(kv[0])):
        exists = stores.keys_of(kind, name) is not None
        env, mounts, components = sorted(uses.env_vars), sorted(uses.mounts), sorted(uses.components)
        left = ", ".join([f"env {v} unset" for v in env] + [f"mount {m} empty" for m in mounts]) or "nothing it fills"
        what = f"{_LABEL[kind]} {name}" + (f" has no key {key!r}" if exists else " does not exist")
        summary = f"optional {what}: {left} in {', '.join(sorted(uses.pods))}"
        workloads = sorted(uses.workloads)
        ev = {f"{kind}_name": name, "kind": _LABEL[kind], "ref_name": name, "key": key, "exists": exists,
              "optional": True, "env_var": env[0] if env else None, "env_vars": env, "mounts": mounts,
              "left_empty": left, "referenced_by": sorted(uses.pods), "components": components,
              "workload": workloads[0], "workloads": workloads}  # fmt: skip
        out.append(Verdict(Status.WARN, "k8s.optional_ref_unresolved", summary, ev,
                           f"optional/{kind}/{name}/{key or '*'}", components[0]))  # fmt: skip
    return out


def empty_vars(pods: list[Pod], stores: Stores) -> dict[tuple[str, str], set[str]]:
    """Per (pod, container): the env vars an optional reference that resolves to nothing leaves unset."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for pod in _running(pods):
        for ref in references(pod):
            if ref.optional and ref.env_var and stores.judged(ref.kind, ref.name) and not stores.resolves(ref):
                out[(pod.name, str(ref.container))].add(ref.env_var)
    return dict(out)
