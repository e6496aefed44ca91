"""The ServiceAccount may do exactly what a run of its level does, and nothing more (docs/kubernetes.md).

Why exact sets and not "contains": least privilege is broken by a rule too many as much as a run is broken by one
too few, and a Role grows silently. Each grant below is written out once, next to the code that needs it, so a
change in either shows up here. Two privilege levels: read-only (``investigate``, and ``heal --dry-run`` which adds
the reads heal's planning makes) and write (``heal``, adding exactly the writes of the shipped remediations and the
heal Lease). Secrets are never listed, only read by name.
"""

from __future__ import annotations

from typing import Any

import pytest

from floe_agents.heal.lock import LEASE_NAME
from floe_agents.playbooks import load_playbooks, search_path
from floe_agents.remediation import RemediationRegistry
from tests.deploy.kustomize import OVERLAYS, Obj, find, only

Grant = tuple[str, str, str, str | None]  # (API group, resource, verb, resource name or None for any)
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection", "escalate", "bind", "impersonate"})
SECRETS = ("floe-demo-credentials", "floe-dagster-postgresql-secret")  # the Floe charts' defaults

INVESTIGATE: frozenset[Grant] = frozenset(
    {("", r, "list", None) for r in ("pods", "events", "services", "endpoints", "configmaps")}  # kubernetes, endpoints
    | {("", "pods/log", "get", None)}  # probes/_kube_workloads.py _read_log
    | {("batch", "jobs", "list", None)}  # probes/kubernetes.py
    | {("apps", r, "list", None) for r in ("deployments", "statefulsets")}  # probes/emitters.py
    | {("", "secrets", "get", name) for name in SECRETS}  # probes/_kube_refs.py read_secrets, by name
)
HEAL_PLAN: frozenset[Grant] = INVESTIGATE | frozenset(
    {("", "configmaps", "get", None)}  # k8s_set_env _current, k8s_rollout_restart
    | {("apps", r, "get", None) for r in ("deployments", "statefulsets")}  # _kube.Kube.workload, wait_rollout
    | {("batch", "jobs", "get", None)}  # k8s_rerun_job, dagster_migrate_storage, _kube_jobs.rerun_job
)
HEAL: frozenset[Grant] = HEAL_PLAN | frozenset(
    {("apps", r, v, None) for r in ("deployments", "statefulsets") for v in ("patch", "watch")}  # restart, set env
    | {("batch", "jobs", v, None) for v in ("create", "delete", "watch")}  # _kube_jobs.rerun_job, migrate_storage
    | {("", "secrets", "create", None)}  # k8s_create_secret (create cannot be limited by name)
    | {("", "secrets", "patch", name) for name in SECRETS}  # k8s_create_secret adds missing keys, by name
    | {("coordination.k8s.io", "leases", "create", None)}  # heal/lock.py: the Lease when there is none
    | {("coordination.k8s.io", "leases", v, "floe-agents-heal") for v in ("get", "update")}  # read, take, release
)
# Every level's own report (floe_agents/sinks/configmap.py): create (never name-restricted), then get/patch by name.
REPORT: frozenset[Grant] = frozenset(
    {("", "configmaps", "create", None)} | {("", "configmaps", v, "floe-agents-report") for v in ("get", "patch")}
)
EXPECTED = {"investigate": INVESTIGATE | REPORT, "heal-dry-run": HEAL_PLAN | REPORT, "heal": HEAL | REPORT}


def _grants(objs: list[Obj]) -> frozenset[Grant]:
    """Every (group, resource, verb, name) the Roles bound to the overlay's ServiceAccount grant."""
    account = only(objs, "ServiceAccount")["metadata"]
    bound = {
        b["roleRef"]["name"]
        for b in find(objs, "RoleBinding")
        if {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]} in b["subjects"]
    }
    out: set[Grant] = set()
    for role in find(objs, "Role"):
        if role["metadata"]["name"] not in bound:
            continue
        for rule in role["rules"]:
            names = rule.get("resourceNames") or [None]
            out |= {
                (g, r, v, n) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"] for n in names
            }
    return frozenset(out)


def _allows(grants: frozenset[Grant], group: str, resource: str, verb: str) -> bool:
    return any((g, r, v) == (group, resource, verb) for g, r, v, _ in grants)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_account_is_granted_exactly_what_its_level_uses(rendered: dict[str, list[Obj]], overlay: str) -> None:
    assert sorted(_grants(rendered[overlay]), key=str) == sorted(EXPECTED[overlay], key=str)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_role_is_bound_to_the_account_only_in_its_namespace(rendered: dict[str, list[Obj]], overlay: str) -> None:
    objs = rendered[overlay]
    account = only(objs, "ServiceAccount")["metadata"]
    roles = {r["metadata"]["name"] for r in find(objs, "Role")}
    for binding in find(objs, "RoleBinding"):
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": binding["roleRef"]["name"]}  # fmt: skip
        assert binding["roleRef"]["name"] in roles
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["name"],
                                        "namespace": account["namespace"]}]  # fmt: skip
    assert not find(objs, "ClusterRole") and not find(objs, "ClusterRoleBinding")


@pytest.mark.parametrize("overlay", ["investigate", "heal-dry-run"])
def test_read_only_levels_hold_no_write_verb_and_no_wildcard(rendered: dict[str, list[Obj]], overlay: str) -> None:
    grants = _grants(rendered[overlay]) - REPORT  # toward the platform; its own report is the one thing it writes
    assert not {v for _, _, v, _ in grants} & WRITE_VERBS
    assert not any("*" in (g, r, v) for g, r, v, _ in grants)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_read_only_by_name_never_listed(rendered: dict[str, list[Obj]], overlay: str) -> None:
    for role in find(rendered[overlay], "Role"):
        for rule in role["rules"]:
            if "secrets" in rule["resources"] or "*" in rule["resources"]:
                assert rule["resources"] == ["secrets"] and rule["apiGroups"] == [""]
                create_only = rule["verbs"] == ["create"]
                assert rule.get("resourceNames") or create_only, f"{role['metadata']['name']}: secrets by name only"
                assert not {"list", "watch"} & set(rule["verbs"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_only_write_of_a_read_only_level_is_its_own_report(rendered: dict[str, list[Obj]], overlay: str) -> None:
    writes = {(g, r, v, n) for g, r, v, n in _grants(rendered[overlay]) if v in WRITE_VERBS}
    if overlay != "heal":
        assert writes == {w for w in REPORT if w[2] in WRITE_VERBS}
    assert {("", "configmaps", "patch", None), ("", "configmaps", "delete", None)}.isdisjoint(writes)


def test_each_level_is_a_superset_of_the_one_below(rendered: dict[str, list[Obj]]) -> None:
    investigate, dry_run, heal = (_grants(rendered[o]) for o in ("investigate", "heal-dry-run", "heal"))
    assert investigate <= dry_run <= heal
    assert not {v for _, _, v, _ in dry_run - investigate} - {"get"}, "the dry run adds reads only"


def _declared() -> list[tuple[str, str, str, str]]:
    """(remediation, group, resource, verb) of every permission a shipped remediation declares."""
    out = []
    for spec in RemediationRegistry.from_entry_points().specs.values():
        for perm in spec.permissions:
            resource, _, group = perm.resource.partition(".")
            out.append((spec.name, group, resource, perm.verb))
    return out


def test_every_permission_a_shipped_remediation_declares_is_granted_to_heal(rendered: dict[str, list[Obj]]) -> None:
    heal = _grants(rendered["heal"])
    declared = _declared()
    assert declared, "the shipped Kubernetes remediations declare their permissions"
    missing = [d for d in declared if not _allows(heal, *d[1:])]
    assert not missing


def test_the_heal_lease_rule_names_the_lease_heal_takes(rendered: dict[str, list[Obj]]) -> None:
    named = {n for g, r, _, n in _grants(rendered["heal"]) if (g, r) == ("coordination.k8s.io", "leases") and n}
    assert named == {LEASE_NAME}


def test_the_secret_heal_copies_from_is_one_the_account_may_read(rendered: dict[str, list[Obj]]) -> None:
    """The shipped playbooks copy a missing key's value from the Secret the investigation found holding it
    (``evidence.source_secret_name``): one of the Secrets pods reference, which the probe read by name with this same
    account, so heal never needs a Secret the investigate level cannot read."""
    sources: set[Any] = set()
    for book in load_playbooks(search_path(env={})).values():
        for step in book.steps:
            source = step.params.get("source")
            if step.remediation == "k8s.create_secret" and isinstance(source, dict) and source.get("secret"):
                sources.add(source["secret"])
                assert "evidence.source_secret_name" in book.preconditions, book.name
    assert sources == {"{evidence.source_secret_name}"}
    readable = {n for g, r, v, n in _grants(rendered["investigate"]) if (g, r, v) == ("", "secrets", "get")}
    assert "floe-demo-credentials" in readable  # where the Floe charts' pods read the shared keys from
