"""Every Kubernetes API method the product's code names is granted at the level that runs it.

Why scan the source: the Roles were derived by reading each call (docs/kubernetes.md), and a probe or remediation
that later starts reading one more kind of object would otherwise first be noticed as a 403 in a customer's
cluster. The kubernetes-asyncio methods spell verb and resource in their names (``list_namespaced_config_map``,
``read_namespaced_pod_log``, ``replace_namespaced_lease``), so each one named in ``floe_agents/probes`` must be
granted by the investigate level and each one named in ``floe_agents/remediations`` or ``floe_agents/heal`` by the
heal level. Necessary, not sufficient: calls chosen at run time (``getattr``) and watches are in the tables of
``test_rbac.py``, which the lab's recorded requests check end to end.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.kustomize import ROOT, Obj, find, only

_METHOD = re.compile(r"\b(read|list|create|patch|replace|delete)_namespaced_([a-z_]+?)(?:_status)?\b")
_VERBS = {"read": "get", "list": "list", "create": "create", "patch": "patch", "replace": "update", "delete": "delete"}
# kubernetes-asyncio's name of a resource -> (API group, plural resource)
_RESOURCES = {
    "pod": ("", "pods"),
    "pod_log": ("", "pods/log"),
    "event": ("", "events"),
    "service": ("", "services"),
    "endpoints": ("", "endpoints"),
    "config_map": ("", "configmaps"),
    "secret": ("", "secrets"),
    "job": ("batch", "jobs"),
    "deployment": ("apps", "deployments"),
    "stateful_set": ("apps", "statefulsets"),
    "lease": ("coordination.k8s.io", "leases"),
}
# Every level leaves its report in a ConfigMap (floe_agents/sinks), so each grants what the sinks call too.
LEVELS = {
    "investigate": ("floe_agents/probes", "floe_agents/sinks"),
    "heal": ("floe_agents/remediations", "floe_agents/heal", "floe_agents/sinks"),
}


def _calls(folders: tuple[str, ...]) -> dict[tuple[str, str, str], list[str]]:
    """(group, resource, verb) -> the files naming a method that makes that request."""
    out: dict[tuple[str, str, str], list[str]] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for verb, name in _METHOD.findall(path.read_text()):
                assert name in _RESOURCES, f"{path.relative_to(ROOT)}: {verb}_namespaced_{name} is not in the table"
                key = (*_RESOURCES[name], _VERBS[verb])
                out.setdefault(key, []).append(str(Path(path).relative_to(ROOT)))
    return out


def _granted(objs: list[Obj]) -> set[tuple[str, str, str]]:
    account = only(objs, "ServiceAccount")["metadata"]["name"]
    bound = {b["roleRef"]["name"] for b in find(objs, "RoleBinding") if b["subjects"][0]["name"] == account}
    return {
        (g, r, v)
        for role in find(objs, "Role")
        if role["metadata"]["name"] in bound
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_every_api_method_the_code_names_is_granted(rendered: dict[str, list[Obj]], level: str) -> None:
    calls = _calls(LEVELS[level])
    assert calls, f"the scan finds the Kubernetes calls of {LEVELS[level]}"
    granted = _granted(rendered[level])
    missing = {call: files for call, files in calls.items() if call not in granted}
    assert not missing, f"requests the {level} level makes but is not granted: {missing}"


def test_the_investigate_level_grants_nothing_the_probes_do_not_call(rendered: dict[str, list[Obj]]) -> None:
    """The probes (and the report sink) choose no call at run time and never watch: their named methods are the
    whole of what they send, so the investigate level is exactly that, no more."""
    assert _granted(rendered["investigate"]) == set(_calls(LEVELS["investigate"]))
