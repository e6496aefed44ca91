"""Least privilege, proven (shared by the in-cluster tests): the Roles under ``deploy/`` against what a run requests.

The RBAC objects of ``kubectl kustomize deploy/overlays/<level>`` are applied to a lab; the floe-agents
ServiceAccount's token comes from TokenRequest. The lab's API records every request per identity; :func:`compare`
checks them against the overlay's rules both ways: every request allowed (no 403 at all), and every rule used — a
rule the scenario's path does not reach must be named in :data:`OTHER_PATHS` with the path that needs it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from itertools import product
from pathlib import Path
from typing import Any

import httpx
import yaml

from floe_lab.kube.rbac import PolicyRule, matches
from floe_lab.kube.requestinfo import RequestInfo
from tests.support.lab import NS, LabHandle

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBECTL = shutil.which("kubectl")
SA = f"system:serviceaccount:{NS}:floe-agents"
RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}

# (apiGroup, resource, verb) a Role grants that this scenario's run does not reach, and the path that needs it.
OTHER_PATHS: dict[tuple[str, str, str], str] = {
    ("", "pods/log", "get"): "a container that does not run while investigated (probes/_kube_workloads.py)",
    ("batch", "jobs", "get"): "k8s_rerun_job / dagster_migrate_storage planning (scenarios with a failed Job)",
    ("batch", "jobs", "create"): "rerun_job / dagster_migrate_storage (unmigrated-schema, s3-endpoint-mismatch)",
    ("batch", "jobs", "delete"): "rerun_job / dagster_migrate_storage (unmigrated-schema, s3-endpoint-mismatch)",
    ("batch", "jobs", "watch"): "rerun_job / dagster_migrate_storage waiting for the Job",
    ("apps", "statefulsets", "get"): "a StatefulSet to restart or patch (none needs it in this scenario)",
    ("apps", "statefulsets", "patch"): "a StatefulSet to restart or patch (none needs it in this scenario)",
    ("apps", "statefulsets", "watch"): "a StatefulSet's rollout",
    ("apps", "deployments", "watch"): "a rollout still under way at its first read (a quick one is never watched)",
    ("", "configmaps", "get"): "k8s_set_env reading a ConfigMap key an env var refers to",
    ("", "configmaps", "create"): "the report sink's first run, which creates floe-agents-report (the next patch it)",
    ("", "configmaps", "patch"): "the report sink's later runs (the first one creates floe-agents-report)",
    ("", "secrets", "patch"): "k8s_create_secret adding a missing key to a Secret that exists (here it is absent)",
}


def render_rbac(level: str) -> list[dict[str, Any]]:
    """The overlay's RBAC objects, as ``kubectl kustomize`` renders them."""
    return [d for d in rendered(level) if d.get("kind") in RBAC_KINDS]


def cronjob_args(level: str, targets: Path) -> list[str]:
    """What the overlay's CronJob runs (``--target`` pointed at ``targets``): the sinks it writes are its too."""
    [cronjob] = [d for d in rendered(level) if d.get("kind") == "CronJob"]
    args = [str(a) for a in cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]]
    return [str(targets) if i and args[i - 1] == "--target" else a for i, a in enumerate(args)]


def rendered(level: str) -> list[dict[str, Any]]:
    assert KUBECTL is not None
    out = subprocess.run([KUBECTL, "kustomize", str(DEPLOY / "overlays" / level)], capture_output=True, text=True,
                         check=True, timeout=60).stdout  # fmt: skip
    return [d for d in yaml.safe_load_all(out) if isinstance(d, dict)]


def _path(obj: dict[str, Any]) -> str:
    group = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
    plural = obj["kind"].lower() + "s"
    ns = obj["metadata"].get("namespace")
    return f"{group}/namespaces/{ns}/{plural}" if ns else f"{group}/{plural}"


def as_level(lab: LabHandle, level: str, tmp: Path) -> tuple[Path, list[PolicyRule]]:
    """Only ``level``'s RBAC bound to the ServiceAccount; a targets file with its TokenRequest token; the rules."""
    objects = render_rbac(level)
    with httpx.Client(base_url=lab.info["api_url"], headers={"Authorization": f"Bearer {lab.token}"}) as admin:
        for old in admin.get(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/rolebindings").json()["items"]:
            if old["metadata"]["name"].startswith("floe-agents"):
                admin.delete(
                    f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/rolebindings/{old['metadata']['name']}"
                )
        for obj in objects:
            put = admin.put(f"{_path(obj)}/{obj['metadata']['name']}", json=obj)
            if put.status_code == 404:
                put = admin.post(_path(obj), json=obj)
            assert put.status_code in (200, 201), put.text
        made = admin.post(f"/api/v1/namespaces/{NS}/serviceaccounts/floe-agents/token", json={"spec": {}})
        assert made.status_code == 201, made.text
        token = made.json()["status"]["token"]
    targets = yaml.safe_load(lab.targets_file.read_text())
    targets["kubernetes"]["token"] = token
    path = lab.state_dir / f"targets-{level}-{tmp.name}.yaml"  # beside targets.yaml: its relative paths hold
    path.write_text(yaml.safe_dump(targets))
    rules = [PolicyRule.of(r) for o in objects if o["kind"] in ("Role", "ClusterRole") for r in o.get("rules") or []]
    return path, rules


def _key(record: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in record.items() if k != "count"}, sort_keys=True)


def requests_of_sa(lab: LabHandle, since: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The ServiceAccount's recorded requests (those made after ``since``, an earlier answer, when given)."""
    answer = httpx.get(f"{lab.info['api_url']}/lab/v1/requests/by-user", params={"user": SA},
                       headers={"Authorization": f"Bearer {lab.token}"}, timeout=10)  # fmt: skip
    now: list[dict[str, Any]] = list(answer.json()["by_user"].get(SA, []))
    seen = {_key(r): r["count"] for r in since or []}
    return [r for r in now if r["count"] > seen.get(_key(r), 0)]


def _info(r: dict[str, Any]) -> RequestInfo:
    return RequestInfo(not r["path"], r["verb"], r["path"], r["apiGroup"], "v1", r["namespace"], r["resource"],
                       r["subresource"], r["name"])  # fmt: skip


def compare(requests: list[dict[str, Any]], rules: list[PolicyRule]) -> None:
    """Every request allowed by the rules (or the defaults every identity has); every rule used or excused."""
    assert [r for r in requests if r["code"] == 403] == [], "a run under its own Role met a 403"
    from floe_lab.kube.rbac import DEFAULT_RULES  # noqa: PLC0415

    ungranted = [r for r in requests if not any(matches(p, _info(r)) for p in (*rules, *DEFAULT_RULES))]
    assert ungranted == [], ungranted
    unused = []
    for rule in rules:
        for group, resource, verb in product(rule.api_groups, rule.resources, rule.verbs):
            unit = PolicyRule((verb,), (group,), (resource,), rule.resource_names)
            if not any(matches(unit, _info(r)) for r in requests) and (group, resource, verb) not in OTHER_PATHS:
                unused.append((group, resource, verb, rule.resource_names))
    assert unused == [], f"rules no request used (name the other path in OTHER_PATHS if one needs them): {unused}"
