"""Least privilege, proven: the Roles under ``deploy/`` grant exactly what ``investigate`` and ``heal`` request.

A lab of this module's own (scenario missing-secret: heal creates a Secret, sets env, restarts workloads) gets the
RBAC objects of ``kubectl kustomize deploy/overlays/<level>`` applied; the floe-agents ServiceAccount's token comes
from TokenRequest, and the real CLI runs with it. It runs what the overlay's CronJob runs (its
arguments, sinks included). The lab's API records every request per identity; each is
compared with the overlay's rules both ways: every request allowed (no 403 at all), and every rule used — a rule
this scenario's path does not reach must be named in :data:`OTHER_PATHS` with the path that needs it. Under the
investigate Role, ``heal`` reports every step as not permitted and writes nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from floe_lab.kube.rbac import PolicyRule, matches
from floe_lab.kube.requestinfo import RequestInfo
from tests.support.lab import NS, LabHandle, cli, start_lab

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
    ("", "configmaps", "get"): "k8s_set_env reading a ConfigMap key an env var refers to",
    ("", "configmaps", "create"): "the report sink's first run, which creates floe-agents-report (the next patch it)",
    ("", "configmaps", "patch"): "the report sink's later runs (the first one creates floe-agents-report)",
    ("", "secrets", "patch"): "k8s_create_secret adding a missing key to a Secret that exists (here it is absent)",
}

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(KUBECTL is None, reason="no kubectl on PATH: the overlays are rendered with kubectl kustomize"),
    pytest.mark.skipif(not (DEPLOY / "overlays").is_dir(), reason="deploy/overlays is not there yet"),
    pytest.mark.parametrize("lab", ["missing-secret"], indirect=True),
]


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """A lab of this module's own: heal changes it, and the ServiceAccount's Roles change between the tests."""
    yield from start_lab(request.param, tmp_path_factory.mktemp(f"rbac-{request.param}"))


def _render(level: str) -> list[dict[str, Any]]:
    """The overlay's RBAC objects, as ``kubectl kustomize`` renders them."""
    return [d for d in _rendered(level) if d.get("kind") in RBAC_KINDS]


def _cronjob_args(level: str, targets: Path) -> list[str]:
    """What the overlay's CronJob runs (``--target`` pointed at ``targets``): the sinks it writes are its too."""
    [cronjob] = [d for d in _rendered(level) if d.get("kind") == "CronJob"]
    args = [str(a) for a in cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]]
    return [str(targets) if i and args[i - 1] == "--target" else a for i, a in enumerate(args)]


def _rendered(level: str) -> list[dict[str, Any]]:
    assert KUBECTL is not None
    out = subprocess.run([KUBECTL, "kustomize", str(DEPLOY / "overlays" / level)], capture_output=True, text=True,
                         check=True, timeout=60).stdout  # fmt: skip
    return [d for d in yaml.safe_load_all(out) if isinstance(d, dict)]


def _path(obj: dict[str, Any]) -> str:
    group = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
    plural = obj["kind"].lower() + "s"
    ns = obj["metadata"].get("namespace")
    return f"{group}/namespaces/{ns}/{plural}" if ns else f"{group}/{plural}"


def _as_level(lab: LabHandle, level: str, tmp: Path) -> tuple[Path, list[PolicyRule]]:
    """Only ``level``'s RBAC bound to the ServiceAccount; a targets file with its TokenRequest token; the rules."""
    objects = _render(level)
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


def _requests(lab: LabHandle, since: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The ServiceAccount's recorded requests (those made after ``since``, an earlier answer, when given)."""
    answer = httpx.get(f"{lab.info['api_url']}/lab/v1/requests/by-user", params={"user": SA},
                       headers={"Authorization": f"Bearer {lab.token}"}, timeout=10)  # fmt: skip
    now: list[dict[str, Any]] = list(answer.json()["by_user"].get(SA, []))
    seen = {_key(r): r["count"] for r in since or []}
    return [r for r in now if r["count"] > seen.get(_key(r), 0)]


def _info(r: dict[str, Any]) -> RequestInfo:
    return RequestInfo(not r["path"], r["verb"], r["path"], r["apiGroup"], "v1", r["namespace"], r["resource"],
                       r["subresource"], r["name"])  # fmt: skip


def _compare(requests: list[dict[str, Any]], rules: list[PolicyRule]) -> None:
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


def test_investigate_uses_exactly_the_investigate_role(lab: LabHandle, tmp_path: Path) -> None:
    targets, rules = _as_level(lab, "investigate", tmp_path)
    before = _requests(lab)
    result = cli(*_cronjob_args("investigate", targets), timeout=120)
    assert result.returncode == 2, result.stderr[-3000:]  # the scenario's fault, found
    report = json.loads(result.stdout)
    assert not [f for f in report["findings"] if f["code"] == "k8s.api_unauthorized"], "a read was refused"
    _compare(_requests(lab, before), rules)


def test_heal_under_the_investigate_role_reports_every_step_and_writes_nothing(lab: LabHandle, tmp_path: Path) -> None:
    targets, _ = _as_level(lab, "investigate", tmp_path)
    before = _requests(lab)
    result = cli("heal", "--yes", "--target", str(targets), "--json", timeout=300)
    report = json.loads(result.stdout)
    assert report["outcome"] == "not-permitted" and result.returncode == 2, result.stderr[-3000:]
    assert report["applied"] == [] and report["not_permitted"], report
    assert all(r["needs"] for r in report["not_permitted"])
    verbs = ("create", "update", "patch", "delete", "deletecollection")
    reviews = ("authorization.k8s.io", "authentication.k8s.io")
    writes = [r for r in _requests(lab, before) if r["verb"] in verbs and r["apiGroup"] not in reviews]
    assert writes == [], writes


@pytest.mark.changes_lab
def test_heal_uses_exactly_the_heal_roles(lab: LabHandle, tmp_path: Path) -> None:
    targets, rules = _as_level(lab, "heal", tmp_path)
    before = _requests(lab)
    result = cli(*_cronjob_args("heal", targets), timeout=600)
    report = json.loads(result.stdout)
    assert report["outcome"] == "healed" and result.returncode == 0, (
        report.get("not_permitted"),
        result.stderr[-3000:],
    )
    _compare(_requests(lab, before), rules)
