"""The Cube stand-in, probed like Floe's health checks and queried with JWTs signed by PyJWT.

What floe-agents relies on: ``/readyz``/``/livez`` answer ``{"health": ...}`` and readiness goes DOWN (500)
when the data source cannot be reached; ``/cubejs-api/v1/meta`` needs a token signed with the API secret and
lists the model's cubes in Cube's shape; ``/load`` names the table a cube reads when that table is missing.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest

from floe_lab.observability.cube import CubeURLs, load_model, run_cube
from tests.support.net import closed_port, listener
from tests.support.processes import exit_code_on_sigterm, observability_process

SECRET = "cube-api-secret-for-the-floe-lab-0123456789"
MODEL = """
cubes:
  - name: customer_summary
    sql_table: gold.customer_summary
    description: Gold-layer customer rollup
    measures:
      - name: count
        type: count
      - name: total_revenue
        sql: total_revenue
        type: sum
        title: Revenue
    dimensions:
      - name: customer_id
        sql: customer_id
        type: number
        primary_key: true
      - name: segment
        sql: segment
        type: string
    rows:
      - {count: 3, segment: enterprise}
  - name: orders_daily
    sql_table: gold.orders_daily
    measures: [{name: count, type: count}]
    dimensions: [{name: order_date, sql: order_date, type: time}]
"""


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.yml"
    path.write_text(MODEL)
    return path


@pytest.fixture
async def cube(model_file: Path) -> AsyncIterator[CubeURLs]:
    async with run_cube(api_secret=SECRET, model_file=str(model_file), missing_tables=["gold.orders_daily"]) as urls:
        yield urls


def _token(secret: str = SECRET, **claims: object) -> str:
    return jwt.encode({"iat": int(time.time()), **claims}, secret, algorithm="HS256")


async def _get(url: str, token: str | None = None, **params: str) -> httpx.Response:
    headers = {"Authorization": token} if token is not None else {}
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(url, params=params, headers=headers)


async def test_health_probes(cube: CubeURLs) -> None:
    for probe in ("readyz", "livez"):
        reply = await _get(f"{cube.api}/{probe}")
        assert reply.status_code == 200
        assert reply.json() == {"health": "HEALTH"}


async def test_meta_with_valid_token(cube: CubeURLs) -> None:
    for header in (_token(), f"Bearer {_token()}"):
        reply = await _get(f"{cube.rest}/meta", header)
        assert reply.status_code == 200, reply.text
    cubes = {c["name"]: c for c in reply.json()["cubes"]}
    assert set(cubes) == {"customer_summary", "orders_daily"}
    summary = cubes["customer_summary"]
    assert summary["title"] == "Customer Summary"
    assert summary["segments"] == []
    assert summary["type"] == "cube"
    measures = {m["name"]: m for m in summary["measures"]}
    assert measures["customer_summary.count"]["title"] == "Customer Summary Count"
    assert measures["customer_summary.count"]["type"] == "number"
    assert measures["customer_summary.count"]["aggType"] == "count"
    assert measures["customer_summary.total_revenue"]["shortTitle"] == "Revenue"
    dims = {d["name"]: d for d in summary["dimensions"]}
    assert dims["customer_summary.customer_id"]["primaryKey"] is True
    assert dims["customer_summary.segment"]["type"] == "string"
    assert "sqlTable" not in summary  # like Cube, plain meta does not expose the table
    extended = (await _get(f"{cube.rest}/meta", _token(), extended="")).json()
    assert {c["name"]: c["sqlTable"] for c in extended["cubes"]}["customer_summary"] == "gold.customer_summary"


async def test_meta_rejects_bad_tokens(cube: CubeURLs) -> None:
    forged = await _get(f"{cube.rest}/meta", _token("some-other-secret-that-is-long-enough-000"))
    assert forged.status_code == 403
    assert forged.json() == {"error": "Invalid token"}
    expired = await _get(f"{cube.rest}/meta", _token(exp=int(time.time()) - 60))
    assert expired.status_code == 403
    assert expired.json() == {"error": "Invalid token"}
    garbage = await _get(f"{cube.rest}/meta", "not-a-jwt")
    assert garbage.status_code == 403
    assert garbage.json() == {"error": "Invalid token"}
    missing = await _get(f"{cube.rest}/meta")
    assert missing.status_code == 403
    assert missing.json() == {"error": "Authorization header isn't set"}


async def test_load_names_the_missing_table(cube: CubeURLs) -> None:
    query = '{"measures":["orders_daily.count"]}'
    reply = await _get(f"{cube.rest}/load", _token(), query=query)
    assert reply.status_code == 400
    assert "gold.orders_daily" in reply.json()["error"]
    assert "does not exist" in reply.json()["error"]
    async with httpx.AsyncClient(timeout=5) as client:
        ok = await client.post(
            f"{cube.rest}/load",
            json={"query": {"measures": ["customer_summary.count"], "dimensions": ["customer_summary.segment"]}},
            headers={"Authorization": _token()},
        )
    assert ok.status_code == 200
    body = ok.json()
    assert body["data"] == [{"customer_summary.count": 3, "customer_summary.segment": "enterprise"}]
    assert body["annotation"]["measures"]["customer_summary.count"]["title"] == "Customer Summary Count"
    filtered = {
        "measures": ["customer_summary.count"],
        "filters": [{"or": [{"member": "orders_daily.order_date", "operator": "set"}]}],
    }
    async with httpx.AsyncClient(timeout=5) as client:
        via_filter = await client.post(
            f"{cube.rest}/load", json={"query": filtered}, headers={"Authorization": _token()}
        )
    assert via_filter.status_code == 400  # a filter on a cube whose table is missing fails too
    assert "gold.orders_daily" in via_filter.json()["error"]
    unknown = await _get(f"{cube.rest}/load", _token(), query='{"measures":["nope.count"]}')
    assert unknown.status_code == 400
    assert "nope" in unknown.json()["error"]
    cube.state.missing_tables.clear()
    assert (await _get(f"{cube.rest}/load", _token(), query=query)).status_code == 200


async def test_readiness_down_when_source_unreachable() -> None:
    async with run_cube(api_secret=SECRET, source_url=f"http://127.0.0.1:{closed_port()}") as urls:
        ready = await _get(f"{urls.api}/readyz")
        assert ready.status_code == 500
        assert ready.json() == {"health": "DOWN"}
        live = await _get(f"{urls.api}/livez")
        assert live.status_code == 200
        assert live.json() == {"health": "HEALTH"}
    with listener() as port:
        async with run_cube(api_secret=SECRET, source_url=f"s3://127.0.0.1:{port}") as urls:
            assert (await _get(f"{urls.api}/readyz")).json() == {"health": "HEALTH"}


async def test_readiness_follows_a_check_callable() -> None:
    state = {"up": True}

    async def source_up() -> bool:
        if not state["up"]:
            raise ConnectionError("duckdb: cannot reach s3")
        return True

    async with run_cube(api_secret=SECRET, source_check=source_up) as urls:
        assert (await _get(f"{urls.api}/readyz")).status_code == 200
        state["up"] = False
        assert (await _get(f"{urls.api}/readyz")).json() == {"health": "DOWN"}


async def test_dev_mode_accepts_anyone() -> None:
    async with run_cube(api_secret=SECRET, dev_mode=True, cubes=[{"name": "c", "sql_table": "t"}]) as urls:
        reply = await _get(f"{urls.rest}/meta")
        assert reply.status_code == 200
        assert reply.json()["cubes"][0]["name"] == "c"


def test_model_file_must_list_named_cubes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("cubes: {name: x}\n")
    with pytest.raises(ValueError, match="list of named cubes"):
        load_model(bad)
    good = tmp_path / "good.json"
    good.write_text('{"cubes": [{"name": "a", "sql_table": "gold.a"}]}')
    assert load_model(good)[0]["sql_table"] == "gold.a"


async def test_process_entry(model_file: Path) -> None:
    command = ["cube", "--model", str(model_file), "--source-url", f"http://127.0.0.1:{closed_port()}"]
    with observability_process(*command, env={"CUBEJS_API_SECRET": SECRET}) as (proc, words):
        assert words[0] == "READY"
        assert words[1].startswith("http://127.0.0.1:")
        assert (await _get(f"{words[1]}/readyz")).status_code == 500
        meta = await _get(f"{words[1]}/cubejs-api/v1/meta", _token())
        assert [c["name"] for c in meta.json()["cubes"]] == ["customer_summary", "orders_daily"]
        assert await exit_code_on_sigterm(proc) == 0
