"""The ConfigMap sink against the lab's Kubernetes API stand-in, with the real ``kubernetes_asyncio`` client: it
creates the ConfigMap, then patches it, keeps the newest N runs per command and stays under the 1 MiB limit."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from kubernetes_asyncio import client

from floe_agents.config import load_targets
from floe_agents.config.targets import KubernetesTarget
from floe_agents.sinks import configmap
from floe_agents.sinks.base import Rendered, ReportKind, SinkContext, SinkError
from floe_agents.sinks.configmap import ConfigMapSink, fit
from floe_agents.sinks.spec import parse_sink
from floe_lab.kube import KubeStore, client_configuration, serve
from tests.support.net import closed_port

NS = "floe"
T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@dataclass
class Cluster:
    api: Any
    ctx: SinkContext

    async def data(self, name: str = "floe-agents-report") -> dict[str, str]:
        found = await client.CoreV1Api(self.api).read_namespaced_config_map(name, NS)
        return dict(found.data or {})


def _ctx(url: str, token: str = "t") -> SinkContext:
    targets = load_targets(None).model_copy(update={"kubernetes": KubernetesTarget(mode="url", url=url, token=token)})
    return SinkContext(targets, None, lambda _name: None)


def report(n: int, kind: ReportKind = "report", body: str = "") -> Rendered:
    doc = json.dumps({"run": n, "body": body})
    return Rendered(kind, T0 + timedelta(seconds=n), f"# run {n}\n", doc, as_json=False)


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with serve(KubeStore(), token="t") as url, client.ApiClient(client_configuration(url, "t")) as api:
        core: Any = client.CoreV1Api(api)
        await core.create_namespace({"metadata": {"name": NS}})
        yield Cluster(api, _ctx(url))


async def test_creates_then_patches_and_keeps_the_newest_n_runs(cluster: Cluster) -> None:
    sink = ConfigMapSink(parse_sink("configmap:floe-agents-report?keep=2"), cluster.ctx)
    with anyio.fail_after(30):
        where = await sink.write(report(1))
        assert where == "configmap floe/floe-agents-report (report-20260102T030406.678Z.json)"
        assert sorted(await cluster.data()) == [
            "report-20260102T030406.678Z.json",
            "report-latest.json",
            "report-latest.md",
        ]
        for n in (2, 3):
            await sink.write(report(n))
        await sink.write(report(4, kind="heal"))
        data = await cluster.data()
    assert sorted(data) == [
        "heal-20260102T030409.678Z.json",
        "heal-latest.json",
        "heal-latest.md",
        "report-20260102T030407.678Z.json",  # run 1 dropped: keep=2 per command
        "report-20260102T030408.678Z.json",
        "report-latest.json",
        "report-latest.md",
    ]
    assert json.loads(data["report-latest.json"])["run"] == 3 and data["report-latest.md"] == "# run 3\n"
    assert json.loads(data["heal-latest.json"])["run"] == 4


async def test_other_keys_are_kept_and_the_oldest_runs_go_to_stay_under_1_mib(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(configmap, "LIMIT_BYTES", 2000)  # the same rule as at 1 MiB, with small reports
    core: Any = client.CoreV1Api(cluster.api)
    await core.create_namespaced_config_map(NS, {"metadata": {"name": "floe-agents-report"}, "data": {"note": "mine"}})
    sink = ConfigMapSink(parse_sink("configmap:floe-agents-report?keep=50"), cluster.ctx)
    with anyio.fail_after(30):
        for n in range(1, 6):
            await sink.write(report(n, body="x" * 300))
        data = await cluster.data()
    size = sum(len(k) + len(v) for k, v in data.items())
    assert size <= 2000 and data["note"] == "mine"
    runs = sorted(k for k in data if k.startswith("report-2026"))
    assert runs[-1] == "report-20260102T030410.678Z.json" and len(runs) < 5  # the newest kept, the oldest dropped
    with pytest.raises(SinkError, match=r"the report needs \d+ bytes .* \(limit 2000\)"):
        await sink.write(report(6, body="x" * 3000))  # a report that cannot fit alone fails, and says so


def test_fit_drops_the_oldest_of_any_command_first(monkeypatch: pytest.MonkeyPatch) -> None:
    existing = {f"heal-20250101T00000{i}.000Z.json": "h" * 100 for i in range(3)}
    existing["report-20250101T000005.000Z.json"] = "r" * 100
    monkeypatch.setattr(configmap, "LIMIT_BYTES", 600)
    data = fit(existing, report(1), keep=10)
    assert "heal-20250101T000000.000Z.json" not in data and "report-20250101T000005.000Z.json" in data


async def test_an_api_that_cannot_be_reached_or_refuses_is_a_sink_error() -> None:
    unreachable = ConfigMapSink(parse_sink("configmap:r"), _ctx(f"http://127.0.0.1:{closed_port()}"))
    with anyio.fail_after(30), pytest.raises(SinkError, match="cannot reach the Kubernetes API"):
        await unreachable.write(report(1))
    async with serve(KubeStore(), token="t") as url:
        refused = ConfigMapSink(parse_sink("configmap:r"), _ctx(url, token="wrong"))
        with anyio.fail_after(30), pytest.raises(SinkError, match=r"^Kubernetes API 401"):
            await refused.write(report(1))
