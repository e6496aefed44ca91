"""The stand-in's admin and error paths answer as Polaris 1.7 does, driven by the official Polaris client.

heal is an admin client of the catalog, so what the stand-in answers to writes and mistakes matters as much as
its read path: a 404 for catalog roles of a missing catalog (not a 500), a 404 for revoking a role that does not
exist (a typo must not look like success), 409 for dropping a non-empty namespace, 400 for wrongly typed bodies,
blank namespace levels and invalid names, ``currentEntityVersion`` updates, credential rotation and reset, the
two assignee lists, Polaris's JSON 404 for unknown routes and a staged create without a ``metadata-location``.
The clients are the official ones — PyPI ``apache-polaris``: its ``polaris`` CLI as a subprocess and its
generated management API — plus raw httpx only for requests the official client refuses to send (a newline in a
name, a list where an object belongs). The stand-in runs on a real PostgreSQL, as in the lab.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField

from floe_lab.polaris import POLARIS_VERSION, RunningPolaris, run_polaris
from tests.support.polaris import (
    CLIENT_ID,
    PolarisS3,
    polaris_admin,
    polaris_cli,
    polaris_config,
    polaris_create_catalog,
    polaris_repl,
    polaris_rest_catalog,
    polaris_token,
)
from tests.support.processes import real_postgres_running

pytestmark = pytest.mark.lab

_T = TypeVar("_T")
CATALOG = "demo_catalog"
MGMT = "/api/management/v1"
ICEBERG = f"/api/catalog/v1/{CATALOG}"


@pytest.fixture(scope="module")
async def standin(polaris_s3: PolarisS3, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningPolaris]:
    """The stand-in on the lab's kind of database (a real PostgreSQL), with ``demo_catalog`` and namespace ``ns``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        async with real_postgres_running(tmp_path_factory.mktemp("pg")) as pg:
            directory = tmp_path_factory.mktemp("polaris")
            polaris_s3.default_services()
            async with run_polaris(polaris_config(polaris_s3, directory, db_url=pg.sqlalchemy_url("polaris"))) as p:
                created = await polaris_create_catalog(
                    p, polaris_s3, CATALOG, allowedLocations=["s3://iceberg-bronze/"]
                )
                assert created.status_code == 201, created.text
                async with _http(p, await polaris_token(p)) as client:
                    assert (await client.post(f"{ICEBERG}/namespaces", json={"namespace": ["ns"]})).status_code == 200
                yield p


@pytest.fixture(scope="module")
async def admin(standin: RunningPolaris) -> Any:
    """The official client's ``PolarisDefaultApi``, authenticated as root."""
    return polaris_admin(standin, await polaris_token(standin))


@pytest.fixture(scope="module")
def pm() -> Any:
    """The official client's generated management models (imported here: the package takes seconds to load)."""
    return importlib.import_module("apache_polaris.sdk.management")


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("polaris-home")


def _http(polaris: RunningPolaris, token: str, user_agent: str = "floe-lab-tests") -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}", "User-Agent": user_agent}
    return httpx.AsyncClient(base_url=polaris.url, headers=headers, timeout=60)  # slow under load, never hung


async def _call(func: Callable[[], _T]) -> _T:
    """A blocking official-client call, off the event loop that serves the stand-in."""
    return await anyio.to_thread.run_sync(func)


async def _fails(func: Callable[[], object]) -> tuple[int, dict[str, Any]]:
    """The status and ErrorModel ``error`` of an official-client call that must fail."""
    with pytest.raises(importlib.import_module("apache_polaris.sdk.management.exceptions").ApiException) as caught:
        await _call(func)
    body = json.loads(caught.value.body or "{}")
    return int(caught.value.status or 0), body.get("error", {})


async def test_the_pinned_polaris_version_is_in_the_startup_line(standin: RunningPolaris) -> None:
    assert POLARIS_VERSION == "1.7.0"
    assert any(f"Apache Polaris Server {POLARIS_VERSION} on JVM" in line for line in standin.logs())


async def test_catalog_roles_of_a_missing_catalog_are_404(admin: Any, pm: Any) -> None:
    listed = await _fails(lambda: admin.list_catalog_roles("nope"))
    create = pm.CreateCatalogRoleRequest(catalog_role=pm.CatalogRole(name="r"))
    created = await _fails(lambda: admin.create_catalog_role("nope", create))
    expected = {
        "message": "TopLevelEntity of type CATALOG does not exist: nope",
        "type": "NotFoundException",
        "code": 404,
    }
    assert listed == created == (404, expected)
    grants = await _fails(lambda: admin.list_grants_for_catalog_role("nope", "r"))
    assert grants == (404, {"message": "CatalogRole does not exist: r", "type": "NotFoundException", "code": 404})


async def test_revoking_a_role_that_does_not_exist_is_404(admin: Any, pm: Any) -> None:
    await _call(lambda: admin.create_principal(pm.CreatePrincipalRequest(principal=pm.Principal(name="rev_app"))))
    await _call(
        lambda: admin.create_principal_role(
            pm.CreatePrincipalRoleRequest(principal_role=pm.PrincipalRole(name="rev_role"))
        )
    )
    typo = await _fails(lambda: admin.revoke_principal_role("rev_app", "rev_rloe"))
    assert (
        typo[0] == 404 and typo[1]["message"] == "Entity rev_rloe not found when trying to assign rev_rloe to rev_app"
    )
    catalog_typo = await _fails(lambda: admin.revoke_catalog_role_from_principal_role("rev_role", CATALOG, "nope"))
    assert catalog_typo[0] == 404 and catalog_typo[1]["type"] == "NotFoundException"
    never_granted = await _fails(lambda: admin.revoke_principal_role("rev_app", "rev_role"))
    assert never_granted == (
        400,
        {"message": "Operation failed: GRANT_NOT_FOUND", "type": "GRANT_NOT_FOUND", "code": 400},
    )
    grant = pm.GrantPrincipalRoleRequest(principal_role=pm.PrincipalRole(name="rev_role"))
    await _call(lambda: admin.assign_principal_role("rev_app", grant))
    await _call(lambda: admin.revoke_principal_role("rev_app", "rev_role"))  # granted: 204


async def test_dropping_a_non_empty_namespace_is_409(standin: RunningPolaris, cli_home: Path) -> None:
    outputs = await polaris_repl(
        standin,
        cli_home,
        [f"namespaces create --catalog {CATALOG} full", f"namespaces create --catalog {CATALOG} full.child",
         f"namespaces delete --catalog {CATALOG} full", f"namespaces delete --catalog {CATALOG} full.child",
         f"namespaces delete --catalog {CATALOG} full"],
    )  # fmt: skip
    assert outputs[:2] == ["", ""] and outputs[3:] == ["", ""]
    # the REPL reports a catalog-API error through its generic branch, with the status and the ErrorModel
    assert "(409)" in outputs[2] and "NamespaceNotEmptyException" in outputs[2]
    assert "Namespace full is not empty" in outputs[2]
    async with _http(standin, await polaris_token(standin)) as client:
        await client.post(f"{ICEBERG}/namespaces", json={"namespace": ["full"]})
        await client.post(f"{ICEBERG}/namespaces", json={"namespace": ["full", "child"]})
        response = await client.delete(f"{ICEBERG}/namespaces/full")
    assert response.status_code == 409 and response.json()["error"]["type"] == "NamespaceNotEmptyException"


_TYPED = [
    ("POST", f"{MGMT}/catalogs", {"catalog": {"name": "c", "type": "INTERNAL", "properties": ["x"],
                                              "storageConfigInfo": {"storageType": "S3"}}}),
    ("PUT", f"{MGMT}/catalogs/{CATALOG}", {"currentEntityVersion": 1, "properties": ["x"]}),
    ("POST", f"{MGMT}/principals", {"principal": {"name": "p", "properties": ["x"]}}),
    ("POST", f"{MGMT}/principal-roles", {"principalRole": {"name": "r", "properties": "x"}}),
    ("PUT", f"{MGMT}/principal-roles/service_admin", {"currentEntityVersion": "1", "properties": {}}),
    ("POST", f"{MGMT}/catalogs/{CATALOG}/catalog-roles", {"catalogRole": ["x"]}),
    ("PUT", f"{MGMT}/principals/root/principal-roles", {"principalRole": "service_admin"}),
    ("PUT", f"{MGMT}/catalogs/{CATALOG}/catalog-roles/catalog_admin/grants", {"grant": ["x"]}),
    ("POST", f"{ICEBERG}/namespaces", {"namespace": ["typed"], "properties": ["x"]}),
    ("POST", f"{ICEBERG}/namespaces/ns/properties", {"updates": ["x"]}),
    ("POST", f"{ICEBERG}/namespaces/ns/tables",
     {"name": "t", "schema": {"type": "struct", "fields": [{"id": 1, "name": "a", "required": False}]}}),
    ("POST", f"{ICEBERG}/namespaces/ns/tables",
     {"name": "t", "schema": {"type": "struct", "fields": []}, "properties": ["x"]}),
    ("POST", f"{ICEBERG}/tables/rename", {"source": ["ns", "t"], "destination": {"namespace": ["ns"], "name": "u"}}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body"), _TYPED, ids=[f"{m} {p}" for m, p, _ in _TYPED])
async def test_wrongly_typed_bodies_are_400(standin: RunningPolaris, method: str, path: str, body: object) -> None:
    async with _http(standin, await polaris_token(standin)) as client:
        response = await client.request(method, path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == 400 and error["type"] and error["message"]


async def test_blank_namespace_levels_are_refused_or_missing(standin: RunningPolaris) -> None:
    """Polaris 1.7 refuses a blank level in what a request creates (``EntityNameValidator``: 400) and, as such a
    namespace can never exist, answers 404 to loading, testing, dropping or listing under it."""
    async with _http(standin, await polaris_token(standin)) as client:
        created = [
            await client.post(f"{ICEBERG}/namespaces", json={"namespace": levels})
            for levels in ([" "], ["ns", ""], ["ns", " x"])
        ]
        renamed = await client.post(
            f"{ICEBERG}/tables/rename",
            json={"source": {"namespace": ["ns"], "name": "t"}, "destination": {"namespace": [""], "name": "t"}},
        )
        looked_up = [
            await client.get(f"{ICEBERG}/namespaces/%20"),
            await client.head(f"{ICEBERG}/namespaces/ns%1F"),
            await client.delete(f"{ICEBERG}/namespaces/%20%1Fns"),
            await client.get(f"{ICEBERG}/namespaces", params={"parent": "ns\x1f "}),
        ]
    assert [r.status_code for r in created] == [400, 400, 400]
    assert created[1].json()["error"] == {
        "message": "Entity name must not be empty", "type": "IllegalArgumentException", "code": 400,
    }  # fmt: skip
    assert created[2].json()["error"]["message"] == "Entity name must not have leading or trailing whitespace:  x"
    assert renamed.status_code == 400
    assert [r.status_code for r in looked_up] == [404, 404, 404, 404]
    assert looked_up[0].json()["error"]["type"] == "NoSuchNamespaceException"


async def test_names_are_checked_as_the_spec_says(standin: RunningPolaris, admin: Any, pm: Any) -> None:
    longest = "r" * 256
    created = await _call(
        lambda: admin.create_principal_role(
            pm.CreatePrincipalRoleRequest(principal_role=pm.PrincipalRole(name=longest))
        )
    )
    assert created.name == longest
    assert (await _call(lambda: admin.get_principal_role(longest))).name == longest
    async with _http(standin, await polaris_token(standin)) as client:
        newline = await client.post(f"{MGMT}/principal-roles", json={"principalRole": {"name": "bad\nname"}})
        too_long = await client.post(f"{MGMT}/principal-roles", json={"principalRole": {"name": "r" * 257}})
        system = await client.post(f"{MGMT}/principals", json={"principal": {"name": "SYSTEM$"}})
        table = await client.post(
            f"{ICEBERG}/namespaces/ns/tables", json={"name": "a\nb", "schema": {"type": "struct", "fields": []}}
        )
    assert newline.status_code == too_long.status_code == system.status_code == table.status_code == 400
    assert newline.json()["error"]["type"] == "ConstraintViolationException"
    assert too_long.json()["error"]["message"] == (
        "Invalid value: createPrincipalRole.request.principalRole.name: size must be between 1 and 256"
    )
    assert table.json()["error"]["message"] == "Entity name must not contain control characters (U+000A): a\\u000Ab"


async def test_updates_carry_the_entity_version(standin: RunningPolaris, admin: Any, cli_home: Path, pm: Any) -> None:
    await _call(lambda: admin.create_principal(pm.CreatePrincipalRequest(principal=pm.Principal(name="upd_app"))))
    await _call(
        lambda: admin.create_principal_role(
            pm.CreatePrincipalRoleRequest(principal_role=pm.PrincipalRole(name="upd_role"))
        )
    )
    await _call(
        lambda: admin.create_catalog_role(
            CATALOG, pm.CreateCatalogRoleRequest(catalog_role=pm.CatalogRole(name="upd_cr"))
        )
    )
    principal = await _call(
        lambda: admin.update_principal(
            "upd_app", pm.UpdatePrincipalRequest(current_entity_version=1, properties={"team": "a"})
        )
    )
    role = await _call(
        lambda: admin.update_principal_role(
            "upd_role", pm.UpdatePrincipalRoleRequest(current_entity_version=1, properties={"k": "v"})
        )
    )
    catalog_role = await _call(
        lambda: admin.update_catalog_role(
            CATALOG, "upd_cr", pm.UpdateCatalogRoleRequest(current_entity_version=1, properties={"k": "v"})
        )
    )
    assert (principal.entity_version, principal.properties) == (2, {"team": "a"})
    assert (role.entity_version, catalog_role.entity_version) == (2, 2)
    stale = await _fails(
        lambda: admin.update_principal("upd_app", pm.UpdatePrincipalRequest(current_entity_version=1, properties={}))
    )
    assert stale == (409, {
        "message": "Failed to update Principal; currentEntityVersion '2', expected '1'",
        "type": "CommitConflictException", "code": 409,
    })  # fmt: skip
    stale_role = await _fails(
        lambda: admin.update_catalog_role(
            CATALOG, "upd_cr", pm.UpdateCatalogRoleRequest(current_entity_version=1, properties={})
        )
    )
    assert stale_role[0] == 409
    # The CLI reads the current version itself, then updates with it.
    outputs = await polaris_repl(
        standin, cli_home,
        ["principals update upd_app --set-property team=b", "principal-roles update upd_role --set-property k=w",
         f"catalog-roles update --catalog {CATALOG} upd_cr --set-property k=w", "principals get upd_app"],
    )  # fmt: skip
    assert outputs[:3] == ["", "", ""]
    shown = json.loads(outputs[3])
    assert shown["entityVersion"] == 3 and shown["properties"] == {"team": "b"}


async def test_credentials_rotate_and_reset(standin: RunningPolaris, admin: Any, cli_home: Path, pm: Any) -> None:
    created = await _call(
        lambda: admin.create_principal(pm.CreatePrincipalRequest(principal=pm.Principal(name="rot_app")))
    )
    first = created.credentials
    first_secret = first.client_secret.get_secret_value()  # the generated model holds it as a SecretStr
    rotated = await _call(lambda: admin.rotate_credentials("rot_app"))
    second_secret = rotated.credentials.client_secret.get_secret_value()
    assert rotated.credentials.client_id == first.client_id and second_secret != first_secret
    assert rotated.principal.name == "rot_app"
    for secret in (first_secret, second_secret):  # the old one stays valid as the secondary
        assert await _token_status(standin, first.client_id, secret) == 200
    reset = await _call(
        lambda: admin.reset_credentials(
            "rot_app", pm.ResetPrincipalRequest(client_id="rot-app-id", client_secret="chosen-1")
        )
    )
    assert reset.credentials.client_id == "rot-app-id"
    assert reset.credentials.client_secret.get_secret_value() == "chosen-1"
    assert await _token_status(standin, "rot-app-id", "chosen-1") == 200
    assert await _token_status(standin, first.client_id, second_secret) == 401
    taken = await _fails(lambda: admin.reset_credentials("rot_app", pm.ResetPrincipalRequest(client_id=CLIENT_ID)))
    assert taken == (
        409,
        {"message": f"Client ID already in use: {CLIENT_ID}", "type": "AlreadyExistsException", "code": 409},
    )
    outputs = await polaris_repl(
        standin, cli_home, ["principals rotate-credentials rot_app", "principals reset rot_app"]
    )
    rotated_by_cli, reset_by_cli = (json.loads(out) for out in outputs)
    assert rotated_by_cli["clientId"] == reset_by_cli["clientId"] == "rot-app-id"
    assert await _token_status(standin, "rot-app-id", reset_by_cli["clientSecret"]) == 200
    assert await _token_status(standin, "rot-app-id", rotated_by_cli["clientSecret"]) == 401


async def _token_status(polaris: RunningPolaris, client_id: str, secret: str) -> int:
    async with httpx.AsyncClient(base_url=polaris.url, timeout=60) as client:
        response = await client.post(
            "/api/catalog/v1/oauth/tokens",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
                  "scope": "PRINCIPAL_ROLE:ALL"},
        )  # fmt: skip
    return response.status_code


async def test_the_assignee_lists(standin: RunningPolaris, admin: Any, cli_home: Path) -> None:
    outputs = await polaris_repl(
        standin, cli_home,
        ["principals create who_app", "principal-roles create who_role",
         "principal-roles grant --principal who_app who_role",
         f"catalog-roles create --catalog {CATALOG} who_cr",
         f"catalog-roles grant --catalog {CATALOG} --principal-role who_role who_cr"],
    )  # fmt: skip
    assert outputs[1:] == ["", "", "", ""], outputs
    principals = await _call(lambda: admin.list_assignee_principals_for_principal_role("who_role"))
    roles = await _call(lambda: admin.list_assignee_principal_roles_for_catalog_role(CATALOG, "who_cr"))
    assert [p.name for p in principals.principals] == ["who_app"]
    assert [r.name for r in roles.roles] == ["who_role"]
    missing = await _fails(lambda: admin.list_assignee_principals_for_principal_role("nobody"))
    assert missing[0] == 404


async def test_unknown_routes_answer_polaris_json(standin: RunningPolaris) -> None:
    async with _http(standin, await polaris_token(standin)) as client:
        unknown = await client.get(f"{MGMT}/no-such-thing")
        views = await client.get(f"{ICEBERG}/namespaces/ns/views")
        wrong_method = await client.patch(f"{MGMT}/catalogs")
    not_found = {"error": {"message": "HTTP 404 Not Found", "type": "NotFoundException", "code": 404}}
    assert unknown.status_code == views.status_code == 404
    assert unknown.json() == views.json() == not_found
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["type"] == "NotAllowedException"


async def test_a_staged_create_has_no_metadata_location_until_committed(standin: RunningPolaris) -> None:
    schema = {"type": "struct", "schema-id": 0, "fields": [{"id": 1, "name": "id", "type": "long", "required": False}]}
    async with _http(standin, await polaris_token(standin)) as client:
        staged = await client.post(
            f"{ICEBERG}/namespaces/ns/tables", json={"name": "staged", "schema": schema, "stage-create": True}
        )
    assert staged.status_code == 200, staged.text
    assert "metadata-location" not in staged.json()  # Iceberg's LoadTableResponseParser omits a null one
    assert staged.json()["metadata"]["location"] == "s3://iceberg-bronze/ns/staged"

    def create_in_a_transaction() -> str:
        catalog = polaris_rest_catalog(standin, CATALOG)
        try:
            txn = catalog.create_table_transaction("ns.txn", Schema(NestedField(1, "id", LongType(), required=False)))
            txn.commit_transaction()
            return str(catalog.load_table("ns.txn").metadata_location)
        finally:
            catalog._session.close()  # its keep-alive connection would outlive the test (a leaked server task)

    location = await _call(create_in_a_transaction)
    assert location.startswith("s3://iceberg-bronze/ns/txn/metadata/") and location.endswith(".metadata.json")


async def test_the_cli_creates_and_reads_back_a_catalog(standin: RunningPolaris, cli_home: Path) -> None:
    created = await polaris_cli(
        standin, cli_home, "catalogs", "create", "--storage-type", "s3", "--default-base-location",
        "s3://iceberg-gold/cli/", "--allowed-location", "s3://iceberg-gold/cli/", "--endpoint", "http://s3.example:4566",
        "--no-sts", "--path-style-access", "cli_catalog",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    outputs = await polaris_repl(
        standin, cli_home,
        ["catalogs get cli_catalog", "catalogs update cli_catalog --set-property owner=heal",
         "catalog-roles list cli_catalog",
         "privileges catalog grant --catalog cli_catalog --catalog-role catalog_admin TABLE_READ_DATA",
         "privileges list --catalog cli_catalog --catalog-role catalog_admin",
         "privileges catalog revoke --catalog cli_catalog --catalog-role catalog_admin TABLE_READ_DATA",
         "catalogs delete cli_catalog", "catalogs get cli_catalog"],
    )  # fmt: skip
    got = json.loads(outputs[0])
    assert got["storageConfigInfo"]["endpoint"] == "http://s3.example:4566"
    assert got["storageConfigInfo"]["stsUnavailable"] is True and got["storageConfigInfo"]["pathStyleAccess"] is True
    assert outputs[1] == "" and json.loads(outputs[2])["name"] == "catalog_admin"
    assert outputs[3] == "" and '"privilege": "TABLE_READ_DATA"' in outputs[4]
    assert outputs[5] == outputs[6] == ""
    assert (
        outputs[7]
        == "Exception when communicating with the Polaris server. NotFoundException: Catalog cli_catalog not found"
    )
    missing = await polaris_cli(standin, cli_home, "catalog-roles", "list", "nope")
    assert missing.returncode != 0
    assert "NotFoundException: TopLevelEntity of type CATALOG does not exist: nope" in missing.stderr


async def test_mutating_requests_are_counted_per_user_agent(standin: RunningPolaris, admin: Any, pm: Any) -> None:
    async def counts() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=standin.url, timeout=60) as client:  # no token needed
            response = await client.get("/lab/v1/requests")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    before = await counts()
    token = await polaris_token(standin)  # the token endpoint is not a change
    async with _http(standin, token, user_agent="floe-agents/9.9.9") as client:
        await client.get(f"{MGMT}/catalogs")  # reads are not counted
        await client.post(f"{MGMT}/principal-roles", json={"principalRole": {"name": "counted"}})
        await client.post(f"{MGMT}/principal-roles", json={"principalRole": {"name": "counted"}})  # 409: still sent
        await client.delete(f"{MGMT}/principal-roles/counted")
    async with httpx.AsyncClient(
        base_url=standin.url, headers={"User-Agent": "floe-agents/9.9.9"}, timeout=60
    ) as anonymous:
        await anonymous.put(f"{MGMT}/catalogs/{CATALOG}", json={})  # 401, yet a write attempt
    await _call(
        lambda: admin.create_principal_role(
            pm.CreatePrincipalRoleRequest(principal_role=pm.PrincipalRole(name="by_client"))
        )
    )
    after = await counts()

    def delta(key: str, name: str) -> int:
        return int(after[key].get(name, 0)) - int(before[key].get(name, 0))

    assert delta("by_user_agent", "floe-agents/9.9.9") == 4 and delta("by_product", "floe-agents") == 4
    assert delta("by_product", "OpenAPI-Generator") == 1
    assert after["mutating"] - before["mutating"] == 5
    assert after["mutating"] == sum(after["by_user_agent"].values()) == sum(after["by_product"].values())
