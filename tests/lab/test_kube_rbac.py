"""The stand-in's RBAC against the real client over HTTP: ServiceAccount tokens, Roles and bindings with the real
authorizer's semantics, the 403 ``Status`` a real apiserver sends, the self-subject reviews, and the per-identity
record of requests that least-privilege tests compare Roles with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from floe_lab.kube import KubeStore, serve

ADMIN = "admin-token"
NS = "floe"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
SA_USER = f"system:serviceaccount:{NS}:agent"


def _role(kind: str, name: str, rules: list[dict[str, Any]], ns: str | None = NS) -> dict[str, Any]:
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta, "rules": rules}


def _binding(kind: str, name: str, role_kind: str, role: str, ns: str | None = NS) -> dict[str, Any]:
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": NS}],
    }


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[KubeStore, httpx.AsyncClient, str]]:
    """The stand-in with namespaces floe and other, the ServiceAccount floe/agent, and a token for it."""
    store = KubeStore()
    store.load([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in (NS, "other")])
    store.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "agent", "namespace": NS}})
    async with serve(store, token=ADMIN) as url, httpx.AsyncClient(base_url=url, trust_env=False) as http:
        made = await http.post(
            f"/api/v1/namespaces/{NS}/serviceaccounts/agent/token",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert made.status_code == 201, made.text
        yield store, http, made.json()["status"]["token"]


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_request_authenticates_as_the_account_until_it_is_deleted(
    cluster: tuple[KubeStore, httpx.AsyncClient, str],
) -> None:
    store, http, token = cluster
    who = await http.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", json={}, headers=_as(token))
    assert who.status_code == 201
    info = who.json()["status"]["userInfo"]
    assert info["username"] == SA_USER
    assert info["groups"] == ["system:serviceaccounts", f"system:serviceaccounts:{NS}", "system:authenticated"]
    missing = await http.post(f"/api/v1/namespaces/{NS}/serviceaccounts/nobody/token", json={}, headers=_as(ADMIN))
    assert (missing.status_code, missing.json()["message"]) == (404, 'serviceaccounts "nobody" not found')
    short = await http.post(
        f"/api/v1/namespaces/{NS}/serviceaccounts/agent/token", json={"spec": {"expirationSeconds": 60}},
        headers=_as(ADMIN),
    )  # fmt: skip
    assert short.status_code == 422 and "may not specify a duration less than 10 minutes" in short.json()["message"]
    own = await http.post(f"/api/v1/namespaces/{NS}/serviceaccounts/agent/token", json={}, headers=_as(token))
    assert own.status_code == 403  # a token may not mint tokens without a grant (create serviceaccounts/token)
    store.delete("serviceaccounts", "agent", NS)
    gone = await http.get(f"/api/v1/namespaces/{NS}/pods", headers=_as(token))
    assert gone.status_code == 401 and gone.json()["reason"] == "Unauthorized"
    assert (await http.get(f"/api/v1/namespaces/{NS}/pods")).status_code == 401  # no token at all


async def test_the_403_is_the_real_apiservers_status(cluster: tuple[KubeStore, httpx.AsyncClient, str]) -> None:
    _, http, token = cluster
    denied = await http.get(f"/api/v1/namespaces/{NS}/pods", headers=_as(token))
    assert denied.status_code == 403
    assert denied.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'pods is forbidden: User "{SA_USER}" cannot list resource "pods" in API group "" in the '
        f'namespace "{NS}"',
        "reason": "Forbidden",
        "details": {"kind": "pods"},
        "code": 403,
    }
    named = await http.get(f"/apis/apps/v1/namespaces/{NS}/deployments/web/scale", headers=_as(token))
    assert named.json()["message"] == (
        f'deployments.apps "web" is forbidden: User "{SA_USER}" cannot get resource "deployments/scale" in API '
        f'group "apps" in the namespace "{NS}"'
    )
    assert named.json()["details"] == {"name": "web", "group": "apps", "kind": "deployments"}
    cluster_scoped = await http.get("/api/v1/nodes", headers=_as(token))  # unknown resource: 403 before 404
    assert cluster_scoped.json()["message"].endswith(
        'cannot list resource "nodes" in API group "" at the cluster scope'
    )
    path = await http.get("/lab/v1/requests", headers=_as(token))
    assert path.json()["message"] == f'forbidden: User "{SA_USER}" cannot get path "/lab/v1/requests"'
    for discovery in ("/api", "/apis", "/api/v1", "/apis/apps/v1", "/version", "/openapi/v3"):
        assert (await http.get(discovery, headers=_as(token))).status_code == 200, discovery


async def _grant(http: httpx.AsyncClient, *objects: dict[str, Any]) -> None:
    for obj in objects:
        plural = obj["kind"].lower() + "s"
        where = f"{RBAC}/namespaces/{obj['metadata']['namespace']}/{plural}" if "namespace" in obj["metadata"] else (
            f"{RBAC}/{plural}")  # fmt: skip
        made = await http.post(where, json=obj, headers=_as(ADMIN))
        assert made.status_code == 201, made.text


async def _can(http: httpx.AsyncClient, token: str, **attributes: str) -> bool:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": attributes}}  # fmt: skip
    answer = await http.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review, headers=_as(token))
    assert answer.status_code == 201, answer.text
    allowed: bool = answer.json()["status"]["allowed"]
    return allowed


async def test_rules_mean_what_they_mean_on_a_cluster(cluster: tuple[KubeStore, httpx.AsyncClient, str]) -> None:
    store, http, token = cluster
    store.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "named", "namespace": NS}})
    await _grant(
        http,
        _role(
            "Role",
            "reader",
            [
                {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    "resourceNames": ["named"],
                    "verbs": ["get", "list", "create"],
                },
                {"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["patch"]},
            ],
        ),
        _binding("RoleBinding", "reader", "Role", "reader"),
        _role(
            "ClusterRole",
            "lease-writer",
            [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}],
            ns=None,
        ),
        _binding("RoleBinding", "leases-here", "ClusterRole", "lease-writer", ns="other"),
        _role("ClusterRole", "ns-reader", [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}], None),
        _binding("ClusterRoleBinding", "ns-reader", "ClusterRole", "ns-reader", ns=None),
    )
    can = {
        "list pods": await _can(http, token, verb="list", resource="pods", namespace=NS),
        "get pods/log": await _can(http, token, verb="get", resource="pods", subresource="log", namespace=NS),
        "list pods elsewhere": await _can(http, token, verb="list", resource="pods", namespace="other"),
        "delete pods": await _can(http, token, verb="delete", resource="pods", namespace=NS),
        "patch deployments/scale": await _can(
            http, token, verb="patch", group="apps", resource="deployments", subresource="scale", namespace=NS
        ),
        "patch deployments": await _can(http, token, verb="patch", group="apps", resource="deployments", namespace=NS),
        "leases in other (RoleBinding to a ClusterRole)": await _can(
            http, token, verb="update", group="coordination.k8s.io", resource="leases", namespace="other"
        ),
        "leases in floe": await _can(
            http, token, verb="update", group="coordination.k8s.io", resource="leases", namespace=NS
        ),
        "get a namespace (ClusterRoleBinding)": await _can(http, token, verb="get", resource="namespaces", name="x"),
    }
    assert can == {
        "list pods": True,
        "get pods/log": True,
        "list pods elsewhere": False,
        "delete pods": False,
        "patch deployments/scale": True,
        "patch deployments": False,
        "leases in other (RoleBinding to a ClusterRole)": True,
        "leases in floe": False,
        "get a namespace (ClusterRoleBinding)": True,
    }
    # resourceNames: get by name; list/watch only when the field selector pins the name; create never.
    secrets = f"/api/v1/namespaces/{NS}/secrets"
    assert (await http.get(f"{secrets}/named", headers=_as(token))).status_code == 200
    assert (await http.get(f"{secrets}/other", headers=_as(token))).status_code == 403
    assert (await http.get(secrets, headers=_as(token))).status_code == 403
    pinned = await http.get(secrets, params={"fieldSelector": "metadata.name=named"}, headers=_as(token))
    assert pinned.status_code == 200 and [i["metadata"]["name"] for i in pinned.json()["items"]] == ["named"]
    made = await http.post(secrets, json={"metadata": {"name": "named-2"}}, headers=_as(token))
    assert made.status_code == 403
    assert (await http.get(f"/api/v1/namespaces/{NS}", headers=_as(token))).status_code == 200


async def test_a_binding_to_a_missing_role_grants_nothing_and_the_denial_says_why(
    cluster: tuple[KubeStore, httpx.AsyncClient, str],
) -> None:
    _, http, token = cluster
    await _grant(http, _binding("RoleBinding", "dangling", "Role", "absent"))
    denied = await http.get(f"/api/v1/namespaces/{NS}/configmaps", headers=_as(token))
    assert denied.json()["message"].endswith(': RBAC: role.rbac.authorization.k8s.io "absent" not found')


async def test_rules_review_and_the_record_per_identity(cluster: tuple[KubeStore, httpx.AsyncClient, str]) -> None:
    _, http, token = cluster
    await _grant(http, _role("Role", "r", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]),
                 _binding("RoleBinding", "r", "Role", "r"))  # fmt: skip
    rules = await http.post("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
                            json={"spec": {"namespace": NS}}, headers=_as(token))  # fmt: skip
    status = rules.json()["status"]
    assert {"verbs": ["list"], "apiGroups": [""], "resources": ["configmaps"]} in status["resourceRules"]
    assert status["incomplete"] is False and any("/version" in r["nonResourceURLs"] for r in status["nonResourceRules"])
    before = (await http.get("/lab/v1/requests", headers=_as(ADMIN))).json()["mutating"]
    assert (await http.get(f"/api/v1/namespaces/{NS}/configmaps", headers=_as(token))).status_code == 200
    assert (await http.delete(f"/api/v1/namespaces/{NS}/configmaps/x", headers=_as(token))).status_code == 403
    assert not await _can(http, token, verb="create", resource="secrets", namespace=NS)
    after = (await http.get("/lab/v1/requests", headers=_as(ADMIN))).json()["mutating"]
    assert after - before == 1  # the refused DELETE; reviews change nothing and are not writes
    record = (await http.get("/lab/v1/requests/by-user", params={"user": SA_USER}, headers=_as(ADMIN))).json()
    seen = {(r["verb"], r["apiGroup"], r["resource"], r["namespace"], r["name"], r["code"]) for r in
            record["by_user"][SA_USER]}  # fmt: skip
    assert seen == {
        ("create", "authorization.k8s.io", "selfsubjectrulesreviews", "", "", 201),
        ("list", "", "configmaps", NS, "", 200),
        ("delete", "", "configmaps", NS, "x", 403),
        ("create", "authorization.k8s.io", "selfsubjectaccessreviews", "", "", 201),
    }
