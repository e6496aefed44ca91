"""The deadline is a deadline (issue 11, finding 2): nothing a run does on its event loop may outlast it. The
Kubernetes library's import took seconds on a busy machine, on the loop, where no timer can fire; here it is
made to take ``SLOW_IMPORT_S`` and the run, with a far shorter deadline, must end before that import could."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import time
from types import ModuleType

import kubernetes_asyncio.client
import kubernetes_asyncio.config
import pytest

from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.registry import Registry, probe
from floe_agents.runner import RunOptions
from floe_agents.swarm import Plan, investigate

pytestmark = pytest.mark.anyio

SLOW_IMPORT_S = 6.0
DEADLINE_S = 0.5


class _SlowImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the already-imported kubernetes_asyncio modules again, the package only after ``delay`` seconds."""

    def __init__(self, modules: dict[str, ModuleType], delay: float) -> None:
        self.modules, self.delay = modules, delay

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.util.spec_from_loader(name, self) if name in self.modules else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        if spec.name == "kubernetes_asyncio":
            time.sleep(self.delay)  # blocking, as an import is
        return self.modules[spec.name]

    def exec_module(self, module: ModuleType) -> None:
        pass


async def test_a_slow_kubernetes_import_does_not_hold_the_run_past_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = ("kubernetes_asyncio", "kubernetes_asyncio.client", "kubernetes_asyncio.config")
    modules = {name: sys.modules[name] for name in names}
    assert modules["kubernetes_asyncio.client"] is kubernetes_asyncio.client
    for name in names:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_SlowImport(modules, SLOW_IMPORT_S), *sys.meta_path])

    @probe("fast", components=["a"])
    async def fast(ctx: ProbeContext) -> Finding:
        return ctx.finding(Status.OK, Code.CHECK_OK, "no cluster needed")

    @probe("needs_kube", components=["a"], timeout=30)
    async def needs_kube(ctx: ProbeContext) -> Finding:
        await ctx.services.kube.get()
        return ctx.finding(Status.OK, Code.CHECK_OK, "got the handle")

    targets = Targets.model_validate(
        {
            "vantages": {"local": {}},
            "components": {"a": {"endpoints": {}}},
            "kubernetes": {"mode": "url", "url": "http://127.0.0.1:9"},
        }
    )
    plan = Plan(targets=targets, registry=Registry.of([fast, needs_kube]), options=RunOptions(deadline_s=DEADLINE_S))
    started = time.monotonic()
    result = await investigate(plan)
    wall = time.monotonic() - started
    assert wall < SLOW_IMPORT_S, f"the run waited for the import: {wall:.1f}s"
    assert sorted(f.code for f in result.analysis.findings) == sorted([Code.CHECK_OK, Code.PROBE_DEADLINE])
