"""The lab's own Dagster, as its pods run it (floe_lab.launchers), read from the session's healthy lab.

Why here and not in test_dagster_site: that module's async Postgres fixture keeps an event loop running, and a
session lab started under it cannot wait for its pipeline run.
"""

from __future__ import annotations

import anyio
import httpx
import psycopg
import pytest

from tests.support.lab import LabHandle

GRAPHQL = """{ version workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on RepositoryLocation { repositories { assetNodes { assetKey { path } }
  jobs { name } } } ... on PythonError { message } } } } } }"""
RUN = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status stepStats { stepKey status } } }
  logsForRun(runId: $id) { ... on EventConnection { events {
    ... on ExecutionStepFailureEvent { error { message causes { message } } } } } }
}"""


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy"], indirect=True)  # the session's healthy lab, not one more
def test_the_labs_dagster_serves_floe_demo_and_ran_its_pipeline(lab: LabHandle) -> None:
    """The lab's three Dagster processes, as its pods run them: the webserver serves 1.13.27 and the floe-demo
    location with its assets and jobs (loaded from the code server), the daemon writes heartbeats, and the run
    ``lab up`` launched (dequeued by the daemon, run by the code server) ran every step to success."""
    url = lab.url("floe-dagster-dagster-webserver", "http")
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:  # sync: the session lab starts here
        info = client.get("/server_info").json()
        answer = client.post("/graphql", json={"query": GRAPHQL}).json()["data"]
        ran = client.post("/graphql", json={"query": RUN, "variables": {"id": lab.info["run_id"]}}).json()
    assert info["dagster_version"] == info["dagster_webserver_version"] == "1.13.27"
    assert answer["version"] == "1.13.27"
    (entry,) = answer["workspaceOrError"]["locationEntries"]
    assert (entry["name"], entry["loadStatus"]) == ("floe-demo", "LOADED")
    (repo,) = entry["locationOrLoadError"]["repositories"]
    keys = {"/".join(node["assetKey"]["path"]) for node in repo["assetNodes"]}
    bronze = {"bronze/raw_customers", "bronze/raw_products", "bronze/raw_orders", "bronze/raw_order_items"}
    assert {k for k in keys if k.startswith("bronze/")} == bronze
    assert "silver/staging" in keys
    assert {"demo_pipeline", "demo_bronze"} <= {job["name"] for job in repo["jobs"]}
    run = ran["data"]["runOrError"]
    assert run["status"] == "SUCCESS", ran
    steps = {step["stepKey"]: step["status"] for step in run["stepStats"]}
    assert {key.replace("/", "__") for key in bronze} | {"silver__staging"} <= set(steps), steps
    assert set(steps.values()) == {"SUCCESS"}, steps
    password = lab.secret("floe-demo-credentials", "postgresql-password")
    port = lab.ports["floe-infra-postgresql"]["tcp-postgresql"]
    assert anyio.run(_heartbeats, f"postgresql://postgres:{password}@127.0.0.1:{port}/dagster") >= 1


async def _heartbeats(dsn: str, within: float = 30.0) -> int:
    with anyio.fail_after(within):
        while True:
            async with await psycopg.AsyncConnection.connect(dsn) as conn:
                cur = await conn.execute("SELECT count(DISTINCT daemon_type) FROM daemon_heartbeats")
                row = await cur.fetchone()
            if row and row[0]:
                return int(row[0])
            await anyio.sleep(0.5)
