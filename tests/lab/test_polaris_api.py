"""The Polaris stand-in's API surface as clients meet it: tokens, config, management, namespaces, health.

These pin Polaris's wire behaviour that floe-agents diagnoses from: the OAuth error shape, ``Unable to find
warehouse``, 404 ``NoSuchNamespaceException``, the management catalog shape with ``storageConfigInfo`` and
``entityVersion`` concurrency, role wiring like Floe's init job, and Quarkus health on the second port.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import httpx
import pytest
from pyiceberg.exceptions import NoSuchNamespaceError, RESTError

from floe_lab.polaris import RunningPolaris, StartupError, run_polaris
from tests.support.net import closed_port
from tests.support.polaris import (
    PolarisS3,
    polaris_config,
    polaris_create_catalog,
    polaris_rest_catalog,
    polaris_token,
)


def _authed(polaris: RunningPolaris, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=polaris.url, headers={"Authorization": f"Bearer {token}"})


async def test_token_good_and_bad_credentials(polaris: RunningPolaris) -> None:
    token = await polaris_token(polaris)
    assert token
    async with httpx.AsyncClient(base_url=polaris.url) as client:
        ok = await client.post(
            "/api/catalog/v1/oauth/tokens",
            data={"grant_type": "client_credentials", "client_id": "demo_client",
                  "client_secret": "demo_secret_k8s", "scope": "PRINCIPAL_ROLE:service_admin"},
        )  # fmt: skip
        bad = await client.post(
            "/api/catalog/v1/oauth/tokens",
            data={"grant_type": "client_credentials", "client_id": "demo_client",
                  "client_secret": "wrong", "scope": "PRINCIPAL_ROLE:ALL"},
        )  # fmt: skip
        bad_scope = await client.post(
            "/api/catalog/v1/oauth/tokens",
            data={"grant_type": "client_credentials", "client_id": "demo_client",
                  "client_secret": "demo_secret_k8s", "scope": "catalog"},
        )  # fmt: skip
        no_token = await client.get("/api/catalog/v1/config", params={"warehouse": "demo_catalog"})
        forged = await client.get("/api/management/v1/catalogs", headers={"Authorization": "Bearer forged"})
    body = ok.json()
    assert ok.status_code == 200
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert bad.status_code == 401
    assert bad.json() == {
        "error": "unauthorized_client", "error_description": "The client is not authorized", "error_uri": None,
    }  # fmt: skip
    assert bad_scope.status_code == 400 and bad_scope.json()["error"] == "invalid_scope"
    assert no_token.status_code == 401 and no_token.headers["WWW-Authenticate"] == "Bearer"
    assert forged.status_code == 401


async def test_config_names_the_missing_warehouse(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    async with _authed(polaris, await polaris_token(polaris)) as client:
        missing = await client.get("/api/catalog/v1/config", params={"warehouse": "demo_catalog"})
        unspecified = await client.get("/api/catalog/v1/config")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"message": "Unable to find warehouse demo_catalog", "type": "NotFoundException", "code": 404}
    }
    assert unspecified.status_code == 400
    assert unspecified.json()["error"]["message"] == "Please specify a warehouse"

    with pytest.raises(RESTError, match="Unable to find warehouse demo_catalog"):
        await anyio.to_thread.run_sync(polaris_rest_catalog, polaris)

    assert (await polaris_create_catalog(polaris, polaris_s3)).status_code == 201
    async with _authed(polaris, await polaris_token(polaris)) as client:
        found = await client.get("/api/catalog/v1/config", params={"warehouse": "demo_catalog"})
    assert found.status_code == 200
    assert found.json()["overrides"] == {"prefix": "demo_catalog"}
    assert "POST /v1/{prefix}/namespaces/{namespace}/tables" in found.json()["endpoints"]


async def test_management_catalog_shape_and_concurrency(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    created = await polaris_create_catalog(polaris, polaris_s3)
    assert created.status_code == 201
    async with _authed(polaris, await polaris_token(polaris)) as client:
        listed = (await client.get("/api/management/v1/catalogs")).json()
        got = (await client.get("/api/management/v1/catalogs/demo_catalog")).json()
        duplicate = await polaris_create_catalog(polaris, polaris_s3)
        stale = await client.put(
            "/api/management/v1/catalogs/demo_catalog",
            json={"currentEntityVersion": 7, "properties": {"default-base-location": "s3://iceberg-bronze/"}},
        )
        new_storage = {**got["storageConfigInfo"], "stsUnavailable": True}
        updated = await client.put(
            "/api/management/v1/catalogs/demo_catalog",
            json={"currentEntityVersion": got["entityVersion"], "storageConfigInfo": new_storage},
        )
        missing = await client.get("/api/management/v1/catalogs/nope")

    assert [c["name"] for c in listed["catalogs"]] == ["demo_catalog"]
    assert got["type"] == "INTERNAL" and got["entityVersion"] == 1
    assert got["properties"] == {"default-base-location": "s3://iceberg-bronze/"}
    storage = got["storageConfigInfo"]
    assert storage["storageType"] == "S3"
    assert storage["endpoint"] == polaris_s3.endpoint
    assert storage["endpointInternal"] == "http://floe-infra-localstack:4566"
    assert storage["pathStyleAccess"] is True and storage["roleArn"].endswith(":role/polaris-storage-role")
    assert storage["allowedLocations"][0] == "s3://iceberg-bronze/"
    assert got["createTimestamp"] > 0
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["message"] == (
        "Cannot create Catalog demo_catalog. Catalog already exists or resolution failed"
    )
    assert stale.status_code == 409 and stale.json()["error"]["type"] == "CommitConflictException"  # Polaris 1.7
    assert updated.status_code == 200
    assert updated.json()["entityVersion"] == 2 and updated.json()["storageConfigInfo"]["stsUnavailable"] is True
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "Catalog nope not found"


async def test_namespaces_and_missing_namespace(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    await polaris_create_catalog(polaris, polaris_s3)
    async with _authed(polaris, await polaris_token(polaris)) as client:
        base = "/api/catalog/v1/demo_catalog/namespaces"
        created = await client.post(base, json={"namespace": ["demo"], "properties": {"owner": "floe"}})
        again = await client.post(base, json={"namespace": ["demo"]})
        orphan = await client.post(base, json={"namespace": ["nope", "child"]})
        got = await client.get(f"{base}/demo")
        head = await client.head(f"{base}/demo")
        missing = await client.get(f"{base}/demo_catalog%1Fbronze")
        head_missing = await client.head(f"{base}/bronze")
    assert created.status_code == 200
    assert created.json()["properties"] == {"owner": "floe", "location": "s3://iceberg-bronze/demo/"}
    assert again.status_code == 409 and again.json()["error"]["type"] == "AlreadyExistsException"
    assert orphan.status_code == 404 and orphan.json()["error"]["message"] == "Namespace does not exist: nope"
    assert got.json() == {
        "namespace": ["demo"],
        "properties": {"owner": "floe", "location": "s3://iceberg-bronze/demo/"},
    }
    assert head.status_code == 204 and head_missing.status_code == 404
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "message": "Namespace does not exist: demo_catalog.bronze", "type": "NoSuchNamespaceException", "code": 404,
    }  # fmt: skip

    def through_pyiceberg() -> list[tuple[str, ...]]:
        catalog = polaris_rest_catalog(polaris)
        catalog.create_namespace(("demo", "bronze"))
        with pytest.raises(NoSuchNamespaceError, match="Namespace does not exist: bronze"):
            catalog.load_namespace_properties("bronze")
        summary = catalog.update_namespace_properties("demo", removals={"owner", "gone"}, updates={"tier": "1"})
        assert summary.removed == ["owner"] and summary.missing == ["gone"] and summary.updated == ["tier"]
        found: list[tuple[str, ...]] = catalog.list_namespaces() + catalog.list_namespaces("demo")
        return found

    assert await anyio.to_thread.run_sync(through_pyiceberg) == [("demo",), ("demo", "bronze")]


async def test_roles_like_the_init_job(polaris: RunningPolaris, polaris_s3: PolarisS3) -> None:
    await polaris_create_catalog(polaris, polaris_s3)
    mgmt = "/api/management/v1"
    async with _authed(polaris, await polaris_token(polaris)) as client:
        role = await client.post(
            f"{mgmt}/catalogs/demo_catalog/catalog-roles", json={"catalogRole": {"name": "demo_data_admin"}}
        )
        grant = await client.put(
            f"{mgmt}/catalogs/demo_catalog/catalog-roles/demo_data_admin/grants",
            json={"grant": {"type": "catalog", "privilege": "CATALOG_MANAGE_CONTENT"}},
        )
        assign = await client.put(
            f"{mgmt}/principal-roles/service_admin/catalog-roles/demo_catalog",
            json={"catalogRole": {"name": "demo_data_admin"}},
        )
        roles = (await client.get(f"{mgmt}/principal-roles/service_admin/catalog-roles/demo_catalog")).json()
        grants = (await client.get(f"{mgmt}/catalogs/demo_catalog/catalog-roles/demo_data_admin/grants")).json()
        app = (await client.post(f"{mgmt}/principals", json={"principal": {"name": "floe_app"}})).json()
        await client.post(f"{mgmt}/principal-roles", json={"principalRole": {"name": "floe_app_role"}})
        await client.put(
            f"{mgmt}/principals/floe_app/principal-roles", json={"principalRole": {"name": "floe_app_role"}}
        )
        app_roles = (await client.get(f"{mgmt}/principals/floe_app/principal-roles")).json()
    assert (role.status_code, grant.status_code, assign.status_code) == (201, 201, 201)
    assert sorted(r["name"] for r in roles["roles"]) == ["catalog_admin", "demo_data_admin"]
    assert grants == {"grants": [{"privilege": "CATALOG_MANAGE_CONTENT", "type": "catalog"}]}
    assert [r["name"] for r in app_roles["roles"]] == ["floe_app_role"]

    creds = app["credentials"]
    app_token = await polaris_token(polaris, creds["clientId"], creds["clientSecret"])
    async with _authed(polaris, app_token) as client:
        denied = await client.get("/api/catalog/v1/demo_catalog/namespaces")
        no_admin = await client.get(f"{mgmt}/catalogs")
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == (
        "Principal 'floe_app' with activated PrincipalRoles '[floe_app_role]' and activated grants via "
        "'[floe_app_role]' is not authorized for op LIST_NAMESPACES"
    )
    assert no_admin.status_code == 403

    async with _authed(polaris, await polaris_token(polaris)) as client:
        await client.put(
            f"{mgmt}/principal-roles/floe_app_role/catalog-roles/demo_catalog",
            json={"catalogRole": {"name": "demo_data_admin"}},
        )
    async with _authed(polaris, app_token) as client:
        allowed = await client.get("/api/catalog/v1/demo_catalog/namespaces")
    assert allowed.status_code == 200 and allowed.json() == {"namespaces": []}


async def test_health_up_down_and_live(polaris: RunningPolaris, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=polaris.mgmt_url) as client:
        ready = await client.get("/q/health/ready")
        live = await client.get("/q/health/live")
        assert ready.status_code == 200
        assert ready.json() == {
            "status": "UP",
            "checks": [{"name": "Database connections health check", "status": "UP", "data": {"<default>": "UP"}}],
        }
        assert live.json()["status"] == "UP"

        # The database goes away: pooled connections are dropped and the file's directory vanishes.
        polaris.state.engine.dispose()
        shutil.rmtree(tmp_path)
        down = await client.get("/q/health/ready")
        still_live = await client.get("/q/health/live")
    assert down.status_code == 503
    check = down.json()["checks"][0]
    assert down.json()["status"] == "DOWN" and check["status"] == "DOWN"
    assert check["data"]["<default>"].startswith("Unable to execute the validation check for the default DataSource")
    assert still_live.status_code == 200


async def test_startup_needs_its_database(polaris_s3: PolarisS3, tmp_path: Path) -> None:
    config = polaris_config(
        polaris_s3, tmp_path, db_url=f"postgresql+psycopg2://polaris:x@127.0.0.1:{closed_port()}/polaris"
    )
    with pytest.raises(StartupError, match="persistence database unreachable"):
        async with run_polaris(config):
            pass


async def test_without_bootstrap_credentials_root_gets_random_ones(polaris_s3: PolarisS3, tmp_path: Path) -> None:
    async with run_polaris(polaris_config(polaris_s3, tmp_path, bootstrap=())) as running:
        line = next(line for line in running.logs() if "root principal credentials:" in line)
        client_id, secret = line.rsplit(" ", 1)[1].split(":")
        assert await polaris_token(running, client_id, secret)
