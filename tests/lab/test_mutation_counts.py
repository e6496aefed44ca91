"""The lab's servers count what each client asked them to change (floe_lab/mutations.py and the counters).

Pinned at the real servers, through the real clients: the Kubernetes stand-in counts POST/PUT/PATCH/DELETE per
User-Agent with ``dryRun=All`` apart; moto counts S3/IAM writes (and not reads sent as POST) per User-Agent;
PostgreSQL's own log counts DDL per ``application_name``. On a running lab, ``mutation_counts`` reads all of them,
and an investigation — read-only by contract — asks none of the servers to change anything.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import boto3  # type: ignore[import-untyped]
import httpx
import psycopg
import pytest
from botocore.config import Config  # type: ignore[import-untyped]
from kubernetes_asyncio import client
from kubernetes_asyncio.client.rest import ApiException

from floe_lab import procs
from floe_lab.kube import client_configuration
from floe_lab.mutations import ServerCounts, mutation_counts
from floe_lab.postgres import ddl_counts
from floe_lab.s3 import ROLE_NAME, S3Server, start_s3
from tests.support.lab import LabHandle, cli
from tests.support.processes import assert_nothing_left, real_postgres_running

AGENT = "floe-agents/0.1.0"
NS = "floe"


def _secret(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "stringData": {"k": "v"}}


async def test_kube_counts_writes_per_user_agent_with_dry_run_apart(kube_url: str, kube_token: str) -> None:
    async with (
        client.ApiClient(client_configuration(kube_url, kube_token)) as lab_client,
        client.ApiClient(client_configuration(kube_url, kube_token)) as ours,
    ):
        ours.user_agent = AGENT
        lab_core: Any = client.CoreV1Api(lab_client)
        core: Any = client.CoreV1Api(ours)
        await lab_core.create_namespace({"metadata": {"name": NS}})  # the lab's own write
        await core.create_namespaced_secret(NS, _secret("a"))
        await core.patch_namespaced_secret("a", NS, {"metadata": {"labels": {"x": "y"}}})
        await core.create_namespaced_secret(NS, _secret("b"), dry_run="All")
        await core.patch_namespaced_secret("a", NS, {"metadata": {"labels": {"x": "z"}}}, dry_run="All")
        await core.read_namespaced_secret("a", NS)
        await core.list_namespaced_secret(NS)
        with pytest.raises(ApiException) as refused:  # refused, still asked for: counted
            await core.create_namespaced_secret(NS, _secret("a"))
        assert refused.value.status == 409
        await core.delete_namespaced_secret("a", NS)
        lab_agent = lab_client.user_agent
    async with httpx.AsyncClient(base_url=kube_url) as http:
        await http.post(f"/api/v1/namespaces/{NS}/secrets", json=_secret("c"), headers={"User-Agent": AGENT})  # 401
        assert (await http.get("/lab/v1/requests")).status_code == 401  # the token is needed, as everywhere
        counts = (await http.get("/lab/v1/requests", headers={"Authorization": f"Bearer {kube_token}"})).json()
    assert counts == {
        "mutating": 6,
        "by_user_agent": {AGENT: 5, lab_agent: 1},  # create, patch, the 409, delete, the 401
        "dry_run": 2,
        "dry_run_by_user_agent": {AGENT: 2},
    }


@pytest.fixture(scope="module")
async def real_s3(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[S3Server]:
    state = tmp_path_factory.mktemp("s3")
    server = await start_s3(state)
    try:
        yield server
    finally:
        await procs.stop_all(state)
    assert_nothing_left(state, [server.record.ports["api"]])


def _boto(server: S3Server, service: str, agent: str | None = None) -> Any:
    config = Config(s3={"addressing_style": "path"}, **({"user_agent": agent} if agent else {}))
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=config,
    )


def _s3_counts(server: S3Server) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(server.endpoint + "/_lab/v1/requests", timeout=10).json()
    return body


@pytest.mark.lab
async def test_s3_counts_writes_per_user_agent_and_not_reads(real_s3: S3Server) -> None:
    def exercise() -> tuple[dict[str, Any], dict[str, Any]]:
        before = _s3_counts(real_s3)
        s3, iam, sts = _boto(real_s3, "s3"), _boto(real_s3, "iam"), _boto(real_s3, "sts")
        s3.list_buckets()  # reads: GET, and IAM/STS reads sent as POST
        iam.get_role(RoleName=ROLE_NAME)
        sts.get_caller_identity()
        sts.assume_role(RoleArn=f"arn:aws:iam::000000000000:role/{ROLE_NAME}", RoleSessionName="count")
        s3.put_object(Bucket="iceberg-bronze", Key="count/a", Body=b"a")  # writes
        s3.delete_objects(Bucket="iceberg-bronze", Delete={"Objects": [{"Key": "count/a"}]})
        iam.create_role(RoleName="count-role", AssumeRolePolicyDocument="{}")
        put = httpx.put(
            real_s3.endpoint + "/iceberg-bronze/count/b", content=b"b", headers={"User-Agent": AGENT}, timeout=10
        )
        assert put.status_code == 200
        return before, _s3_counts(real_s3)

    before, after = await anyio.to_thread.run_sync(exercise)
    assert after["mutating"] - before["mutating"] == 4
    grown = {k: n - before["by_user_agent"].get(k, 0) for k, n in after["by_user_agent"].items()}
    grown = {k: n for k, n in grown.items() if n}
    assert grown.pop(AGENT) == 1
    assert sum(grown.values()) == 3 and all(k.startswith("Boto3/") for k in grown), grown  # boto3's own agents


def _log(pg_log: str) -> str:
    return Path(pg_log).read_text(encoding="utf-8", errors="replace")


@pytest.mark.lab
async def test_postgres_counts_ddl_per_application_name_from_its_own_log(tmp_path: Path) -> None:
    async with real_postgres_running(tmp_path / "pg") as pg:
        base = ddl_counts(_log(pg.record.log_path))
        async with await psycopg.AsyncConnection.connect(
            pg.dsn("dagster"), application_name="floe-agents", autocommit=True
        ) as conn:
            await conn.execute("CREATE TABLE counted (id int)")  # simple protocol
            await conn.execute("ALTER TABLE counted ADD COLUMN name text", prepare=True)  # extended protocol
            await conn.execute("INSERT INTO counted VALUES (%s, %s)", (1, "x"))  # data, not DDL
            await conn.execute("SELECT * FROM counted")
            with pytest.raises(psycopg.errors.DuplicateTable):  # refused, still asked for
                await conn.execute("CREATE TABLE counted (id int)")
        async with await psycopg.AsyncConnection.connect(
            pg.dsn("dagster"), application_name="someone else", autocommit=True
        ) as conn:
            await conn.execute("DROP TABLE counted")

        async def settled() -> dict[str, int]:
            for _ in range(100):  # the server writes its log asynchronously to our connection closing
                counts = ddl_counts(_log(pg.record.log_path)) - base
                if sum(counts.values()) >= 4:
                    return dict(counts)
                await anyio.sleep(0.05)
            return dict(ddl_counts(_log(pg.record.log_path)) - base)

        assert await settled() == {"floe-agents": 3, "someone else": 1}


def test_server_counts_subtract_and_pick_a_client() -> None:
    before = ServerCounts("kubernetes", True, 3, {"x/1": 3}, 0, {})
    after = ServerCounts("kubernetes", True, 6, {"x/1": 4, AGENT: 2}, 1, {AGENT: 1})
    delta = after.minus(before)
    assert (delta.total, dict(delta.by_client), delta.of(), delta.dry_run_of(), delta.of("x")) == (
        3,
        {"x/1": 1, AGENT: 2},
        2,
        1,
        1,
    )
    assert not after.minus(ServerCounts("kubernetes", False, why="down")).available


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy"], indirect=True)
async def test_investigating_the_lab_asks_no_server_to_change_anything(lab: LabHandle) -> None:
    before = await mutation_counts(lab.state_dir)
    assert before.kubernetes.total > 0 and before.s3.total > 0 and before.postgres.total > 0  # the lab's own boot
    assert before.kubernetes.of() == before.s3.of() == before.postgres.of() == 0
    result = await anyio.to_thread.run_sync(
        lambda: cli("investigate", "--target", str(lab.state_dir / "targets.yaml"), "--json", timeout=60)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    delta = (await mutation_counts(lab.state_dir)).minus(before)
    ours = delta.total_of()
    assert {k: v for k, v in ours.items() if k != "polaris"} == {"kubernetes": 0, "s3": 0, "postgres": 0}, ours
    assert delta.kubernetes.dry_run_of() == 0
    assert delta.s3.total == 0 and delta.postgres.total == 0, json.dumps(
        {"s3": dict(delta.s3.by_client), "postgres": dict(delta.postgres.by_client)}
    )
    assert ours["polaris"] in (None, 0), delta.polaris
