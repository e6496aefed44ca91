"""The Kubernetes client is opened beside the first probes: a slow kubeconfig delays only the probes that need it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import kubernetes_asyncio.client  # noqa: F401 - up front: these tests time the kubeconfig, not the library's import
import pytest
import yaml

from floe_agents import kube
from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.registry import Registry, probe
from floe_agents.runner import RunOptions
from floe_agents.swarm import Plan, investigate

pytestmark = pytest.mark.anyio

CREDENTIAL = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
              "status": {"token": "from-the-exec-plugin"}}  # fmt: skip


def kubeconfig(path: Path, script: str) -> Path:
    """A kubeconfig whose user authenticates through an exec plugin running ``sh -c script``."""
    exec_ = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "sh",
        "args": ["-c", script],
        "interactiveMode": "Never",
    }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"exec": exec_}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def slow_kubeconfig(path: Path, delay_s: float) -> Path:
    """An exec plugin that answers after ``delay_s``, like ``aws eks get-token``."""
    return kubeconfig(path, f"sleep {delay_s}; echo '{json.dumps(CREDENTIAL)}'")


@pytest.fixture
async def hanging_kubeconfig(tmp_path: Path) -> AsyncIterator[Path]:
    """An exec plugin that never answers (a login waiting for a browser). kubernetes_asyncio does not kill a
    plugin it stops waiting for, so the fixture does, while the event loop can still reap it."""
    pidfile = tmp_path / "plugin.pid"
    yield kubeconfig(tmp_path / "config", f"echo $$ > {pidfile}; exec sleep 60")
    if pidfile.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
        await anyio.sleep(0.3)


async def run(kubernetes: dict[str, Any], options: RunOptions | None = None) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    t0 = time.monotonic()

    @probe("fast", components=["a"])
    async def fast(ctx: ProbeContext) -> Finding:
        seen["fast_done_s"] = time.monotonic() - t0
        return ctx.finding(Status.OK, Code.CHECK_OK, "no cluster needed")

    @probe("needs_kube", components=["a"], timeout=10)
    async def needs_kube(ctx: ProbeContext) -> Finding:
        api, error = await ctx.services.kube.get()
        seen.update(kube_ready_s=time.monotonic() - t0, api=api, error=error)
        if api is not None:
            seen["api_key"] = dict(api.configuration.api_key)
        return ctx.finding(Status.OK, Code.CHECK_OK, "got the handle")

    targets = Targets.model_validate(
        {"vantages": {"local": {}}, "components": {"a": {"endpoints": {}}}, "kubernetes": kubernetes}
    )
    plan = Plan(targets=targets, registry=Registry.of([fast, needs_kube]), options=options or RunOptions())
    result = await investigate(plan)
    seen["codes"] = [f.code for f in result.analysis.findings]
    return seen


async def test_slow_kubeconfig_delays_only_the_probes_that_use_the_cluster(tmp_path: Path) -> None:
    seen = await run({"mode": "kubeconfig", "kubeconfig": str(slow_kubeconfig(tmp_path / "config", 1.5))})
    assert seen["codes"] == [Code.CHECK_OK, Code.CHECK_OK]
    assert seen["fast_done_s"] < 0.5 < 1.5 <= seen["kube_ready_s"], seen
    assert seen["api"] is not None and seen["error"] is None
    assert "from-the-exec-plugin" in str(seen["api_key"])  # the exec plugin really ran


async def test_a_kubeconfig_still_loading_when_the_run_ends_does_not_hold_it(hanging_kubeconfig: Path) -> None:
    """The exec plugin never answers, the run's deadline is 1 s: the run ends on time, the kube probe as a deadline."""
    started = time.monotonic()
    with anyio.fail_after(10):
        seen = await run({"mode": "kubeconfig", "kubeconfig": str(hanging_kubeconfig)}, RunOptions(deadline_s=1.0))
    assert time.monotonic() - started < 3
    assert sorted(seen["codes"]) == sorted([Code.CHECK_OK, Code.PROBE_DEADLINE])
    assert "api" not in seen  # needs_kube never got a client


async def test_a_kubeconfig_that_does_not_load_in_time_reaches_the_probes_as_a_reason(
    hanging_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kube, "OPEN_TIMEOUT_S", 0.5)
    seen = await run({"mode": "kubeconfig", "kubeconfig": str(hanging_kubeconfig)})
    assert seen["api"] is None
    assert "did not load within 0.5s" in seen["error"]
    assert 0.5 <= seen["kube_ready_s"] < 2


async def test_the_cluster_client_is_not_opened_when_no_probe_asks(tmp_path: Path) -> None:
    """A run without cluster probes never runs the kubeconfig's exec plugin (nor loads its CA certificates)."""
    marker = tmp_path / "exec-plugin-ran"
    config = kubeconfig(tmp_path / "config", f"touch {marker}; echo '{json.dumps(CREDENTIAL)}'")

    @probe("fast", components=["a"])
    async def fast(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "no cluster needed")

    targets = Targets.model_validate(
        {
            "vantages": {"local": {}},
            "components": {"a": {"endpoints": {}}},
            "kubernetes": {"mode": "kubeconfig", "kubeconfig": str(config)},
        }
    )
    result = await investigate(Plan(targets=targets, registry=Registry.of([fast])))
    assert [f.code for f in result.analysis.findings] == [Code.CHECK_OK]
    assert not marker.exists()
    await run({"mode": "kubeconfig", "kubeconfig": str(config)})  # the same kubeconfig, asked for: it runs
    assert marker.exists()


async def test_unusable_kubeconfig_reaches_the_probe_as_a_reason(tmp_path: Path) -> None:
    seen = await run({"mode": "kubeconfig", "kubeconfig": str(tmp_path / "missing")})
    assert seen["api"] is None
    assert "cannot configure the Kubernetes client (kubeconfig)" in seen["error"]


async def test_no_cluster_configured_is_none_without_a_reason() -> None:
    seen = await run({"mode": "none"})
    assert (seen["api"], seen["error"]) == (None, None)
