"""Heal under a Role that may only read: every step is reported 'not permitted: needs VERB on RESOURCE (in
namespace NS)', heal's Lease too, and the API records no write from it — against the lab's Kubernetes API with a
ServiceAccount token (TokenRequest) and the real engine over the in-memory platform of the other heal tests."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from kubernetes_asyncio import client

from floe_agents.heal.lock import heal_lock
from floe_agents.heal_context import HealContext
from floe_agents.remediation import Action, Change, RemediationRegistry, Step, remediation
from floe_lab.kube import KubeStore, client_configuration, serve
from tests.support.heal_platform import BOOKS, Platform, ThingParams

ADMIN, NS = "admin", "floe"
SA = f"system:serviceaccount:{NS}:floe-agents"
READ_ONLY = [
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get"]},
]


@remediation("test.create", params=ThingParams)
async def kube_thing(ctx: HealContext, params: ThingParams) -> list[Step]:
    """Make the thing in the cluster: a Secret, and a restart of the Deployment that reads it."""
    core: Any = client.CoreV1Api(ctx.kube)
    apps: Any = client.AppsV1Api(ctx.kube)

    async def create() -> Change:
        await core.create_namespaced_secret(NS, {"metadata": {"name": params.thing}})
        return Change(action=make)

    async def restart() -> Change:
        await apps.patch_namespaced_deployment("web", NS, {"metadata": {"annotations": {"r": "1"}}})
        return Change(action=roll)

    make = Action(kind="kubernetes", verb="create", target=f"Secret {NS}/{params.thing}", summary="make it")
    roll = Action(kind="kubernetes", verb="patch", target=f"Deployment {NS}/web", summary="restart it")
    return [Step(action=make, run=create), Step(action=roll, run=restart)]


@pytest.fixture
async def as_agent() -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The Kubernetes client as floe/floe-agents bound to a read-only Role, and an admin's HTTP client."""
    store = KubeStore()
    store.load([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "floe-agents", "namespace": NS}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "ro", "namespace": NS},
         "rules": READ_ONLY},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "ro", "namespace": NS},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ro"},
         "subjects": [{"kind": "ServiceAccount", "name": "floe-agents", "namespace": NS}]},
    ])  # fmt: skip
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with serve(store, token=ADMIN) as url, httpx.AsyncClient(base_url=url, headers=headers) as admin:
        made = await admin.post(f"/api/v1/namespaces/{NS}/serviceaccounts/floe-agents/token", json={})
        token = made.json()["status"]["token"]
        async with client.ApiClient(client_configuration(url, token)) as api:
            yield api, admin


async def test_heal_under_a_read_only_role_reports_every_step_and_writes_nothing(
    as_agent: tuple[Any, httpx.AsyncClient],
) -> None:
    api, admin = as_agent
    platform = Platform()
    base = platform.healer(BOOKS)
    healer = dataclasses.replace(
        base, registry=RemediationRegistry.of([kube_thing]), ctx=dataclasses.replace(base.ctx, kube=api)
    )
    with anyio.fail_after(60):
        async with heal_lock(api, NS):
            report = await healer.run(dry_run=False)
    assert report.outcome == "not-permitted" and report.exit_code == 2 and report.applied == ()
    assert [r.message for r in report.not_permitted] == [
        f"take Lease {NS}/floe-agents-heal: not permitted: needs create on leases.coordination.k8s.io (in namespace "
        f"{NS})",
        f"create Secret {NS}/secret: not permitted: needs create on secrets (in namespace {NS})",
        f"patch Deployment {NS}/web: not permitted: needs patch on deployments.apps (in namespace {NS})",
        f"create Secret {NS}/catalog: not permitted: needs create on secrets (in namespace {NS})",
    ]  # the second fix's restart is the first one's (planned once)
    assert platform.asked == []  # nobody is asked to confirm what cannot be done
    record = (await admin.get("/lab/v1/requests/by-user", params={"user": SA})).json()["by_user"][SA]
    writes = [
        r for r in record if r["verb"] not in ("get", "list", "watch") and r["apiGroup"] != "authorization.k8s.io"
    ]
    assert writes == [] and all(r["code"] != 403 for r in record), record  # asked first: never refused
    assert (await admin.get("/lab/v1/requests")).json()["mutating"] == 1  # the admin's TokenRequest, nothing else
