"""One investigation, wired end to end: plan the agents, run them on the bus, and diagnose.

This is the seam between the CLI (which parses and prints) and the engine (which never prints). It owns the one
top task group: the coordinator and any observers consume the bus while the runner drives agents and follow-ups;
everything ends when the bus completes. Observers see the run only as typed events (:mod:`floe_agents.events`);
the investigation returned is immutable and carries the report document the engine built from it. The HTTP
client is created here and closed here; tests pass their own ``transport`` to reach in-process servers without
sockets. The Kubernetes client is opened beside the first probes (a kubeconfig exec plugin can take a second; its
library is imported in a daemon thread, never on the event loop) and closed when the runner is done, within
:data:`~floe_agents.transport.CLOSE_TIMEOUT_S`, as the HTTP client is: the run ends by its deadline plus the
runner's grace whatever the servers do.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import anyio
import httpx

from floe_agents import kube
from floe_agents.analysis import Analysis
from floe_agents.bus import Bus, Subscription
from floe_agents.config.platform import PlatformConfig
from floe_agents.config.targets import KubernetesTarget, Targets
from floe_agents.context import KubeHandle, ProbeContext, Services
from floe_agents.coordinator import Coordinator
from floe_agents.events import FindingPosted, Observer, RunRecord
from floe_agents.findings import Finding
from floe_agents.kube import KubeUnavailableError, open_kube
from floe_agents.redact import Redactor
from floe_agents.registry import AgentSpec, Registry
from floe_agents.report import Report, build_report
from floe_agents.resolve import resolvers_for
from floe_agents.rules import RuleSet, builtin_rules
from floe_agents.runner import Runner, RunOptions
from floe_agents.topology import ComponentSpec, Topology, floe_topology
from floe_agents.transport import CLOSE_TIMEOUT_S, USER_AGENT, run_client

__all__ = ["Investigation", "Plan", "investigate", "plan_agents"]

_IMPORT_POLL_S = 0.02  # how often the run looks whether the Kubernetes library is imported yet


@dataclass(frozen=True)
class Plan:
    """Everything an investigation needs, resolved and validated up front."""

    targets: Targets
    registry: Registry
    platform: PlatformConfig | None = None
    topology: Topology = field(default_factory=floe_topology)
    rules: RuleSet = field(default_factory=builtin_rules)
    options: RunOptions = field(default_factory=RunOptions)
    only: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()

    def effective_topology(self) -> Topology:
        """The built-in graph plus components/edges the targets file declares."""
        extra = []
        for name, comp in self.targets.components.items():
            if name not in self.topology or comp.depends_on is not None:
                deps = tuple(comp.depends_on or ())
                extra.append(ComponentSpec(name, deps))
        if not extra:
            return self.topology
        merged = {s.name: s for s in self.topology.components.values()}
        merged.update({s.name: s for s in extra})
        return Topology.of(merged.values())

    def redactor(self) -> Redactor:
        return self.registry.declarations().redactor(self.targets, self.platform)


def plan_agents(plan: Plan) -> tuple[AgentSpec, ...]:
    topology = plan.effective_topology()
    components: dict[str, tuple[tuple[str, ...], bool]] = {}
    for name, target in plan.targets.components.items():
        if not target.enabled or (plan.only and name not in plan.only) or name in plan.skip:
            continue
        components[name] = (topology.depends_on(name), bool(target.endpoints))
    return plan.registry.agents(components)


@dataclass(frozen=True)
class Investigation:
    """One finished run: the diagnosis, what the run did, and the report document built from both."""

    analysis: Analysis
    record: RunRecord
    report: Report
    agents: tuple[AgentSpec, ...]
    findings_received: int
    wall_s: float
    plan: Plan


async def investigate(
    plan: Plan,
    *,
    observers: Sequence[Observer] = (),
    transport: httpx.AsyncBaseTransport | None = None,
) -> Investigation:
    """Run every agent of ``plan`` and return the diagnosis and its report. Never raises because of a probe.

    Each observer is called with every :data:`~floe_agents.events.RunEvent` of the run, findings included.
    """
    t0 = time.monotonic()
    agents = plan_agents(plan)
    topology = plan.effective_topology()
    coordinator = Coordinator(topology=topology, rules=plan.rules.with_fixes(plan.registry.declarations().fixes))
    bus = Bus()
    coordinator_sub = bus.subscribe("coordinator")
    observer_sub = bus.subscribe("observers") if observers else None
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            run_client(transport, follow_redirects=True, headers={"User-Agent": USER_AGENT})
        )
        cluster, run_over, kube_opening = KubeHandle(), anyio.Event(), anyio.CancelScope()
        services = Services(
            http=http,
            resolvers=resolvers_for(plan.targets.vantages, plan.targets.vantage),
            kube=cluster,
            declarations=plan.registry.declarations(),
        )
        base = ProbeContext(component="", check="", targets=plan.targets, services=services, platform=plan.platform)
        runner = Runner(
            agents, plan.registry.follow_ups, base, plan.options, plan.registry.load_errors, observers=observers
        )
        runner.attach(bus)
        async with anyio.create_task_group() as tg:
            tg.start_soon(coordinator.consume, coordinator_sub)
            if observer_sub is not None:
                tg.start_soon(_observe, observer_sub, tuple(observers))
            tg.start_soon(_hold_kube, plan.targets.kubernetes, cluster, run_over, kube_opening)
            try:
                record = await runner.run(bus)
            finally:
                run_over.set()
                kube_opening.cancel()  # only matters while the client is still being opened
    analysis = coordinator.analyze()
    wall_s = time.monotonic() - t0  # the diagnosis included, the report document not
    report = build_report(
        analysis,
        record,
        vantage=plan.targets.vantage,
        namespace=plan.targets.namespace,
        wall_s=wall_s,
        deadline_s=plan.options.deadline_s,
    )
    return Investigation(
        analysis=analysis,
        record=record,
        report=report,
        agents=agents,
        findings_received=coordinator.received,
        wall_s=wall_s,
        plan=plan,
    )


async def _hold_kube(
    target: KubernetesTarget, handle: KubeHandle, run_over: anyio.Event, opening: anyio.CancelScope
) -> None:
    """Open the Kubernetes client while the first probes run, hand it over, close it when the run is over.

    It is opened when a probe first asks, so the probes already started send their first requests before the
    client's CA certificates are loaded on the event loop. Opening runs in ``opening``, which the swarm cancels
    when the run ends: a kubeconfig exec plugin that never returns must not keep the run alive past its
    deadline. Once open, the client is closed when the run is over, within :data:`CLOSE_TIMEOUT_S`.
    """
    closing = contextlib.AsyncExitStack()
    async with contextlib.AsyncExitStack() as stack:
        with opening:
            await handle.wanted()
            if target.mode != "none":  # ~1 s of imports (far more on a busy machine) that would stall the loop
                await _import_kube_client()
            with anyio.move_on_after(kube.OPEN_TIMEOUT_S) as slow:
                try:
                    api = await stack.enter_async_context(open_kube(target))
                except KubeUnavailableError as exc:
                    handle.set(None, str(exc))
                    return
                except Exception as exc:
                    handle.set(None, f"cannot open the Kubernetes client: {type(exc).__name__}: {exc}")
                    return
        if opening.cancelled_caught:  # the run ended first (perhaps before any probe asked)
            handle.set(None, "the run ended before the Kubernetes client was open")
            return
        if slow.cancelled_caught:
            handle.set(None, f"the kubeconfig did not load within {kube.OPEN_TIMEOUT_S:g}s (an exec plugin waiting?)")
            return
        handle.set(api)
        await run_over.wait()
        closing = stack.pop_all()
    with anyio.move_on_after(CLOSE_TIMEOUT_S, shield=True):  # a run's end waits for no API server
        await closing.aclose()


async def _import_kube_client() -> None:
    """Import kubernetes_asyncio (which open_kube and the cluster probes import lazily) in a daemon thread: on
    the event loop its import would hold up every probe and the deadline itself for as long as it takes, and in
    a worker thread the process would wait for it at exit. An import that fails is left to open_kube to report."""
    if "kubernetes_asyncio.config" in sys.modules:
        return
    done = threading.Event()

    def load() -> None:
        try:
            importlib.import_module("kubernetes_asyncio.client")
            importlib.import_module("kubernetes_asyncio.config")
        except Exception:  # noqa: S110 - open_kube imports it again and says why it cannot
            pass
        finally:
            done.set()

    threading.Thread(target=load, name="floe-agents kube import", daemon=True).start()
    while not done.is_set():  # noqa: ASYNC110 - a thread sets it; polling needs no way back into the loop
        await anyio.sleep(_IMPORT_POLL_S)


async def _observe(sub: Subscription[Finding], observers: tuple[Observer, ...]) -> None:
    async with sub:
        async for finding in sub:
            event = FindingPosted(finding)
            for observer in observers:
                observer(event)
