"""Follow-up: when a port refuses or drops a connection, is it that component, or the whole host?

From a laptop every component is reached on one host: NodePorts on a node address, or ``kubectl port-forward``
on localhost. When the cluster is stopped or the forward died, every port on it fails at once, and a report of
eight "not accepting connections" root causes hides the one fact behind them. So for a refused or timed-out TCP
finding this follow-up tries every endpoint the targets name on that host (at most once per host per run,
shared through ``ctx.services.once``). If none of them accepts a connection, and they belong to at least two
components, the host is the cause: one ``tcp.host_down`` finding naming the components behind it.
"""

from __future__ import annotations

import anyio
import httpx

from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Severity, Status
from floe_agents.probes._verdict import Verdict
from floe_agents.registry import follow_up

CONNECT_TIMEOUT_S = 1.5
CODES = {"tcp.host_down": "fail: no endpoint of any component on this host accepts a connection"}


async def _accepts(host: str, port: int) -> bool:
    with anyio.move_on_after(CONNECT_TIMEOUT_S):
        try:
            stream = await anyio.connect_tcp(host, port)
        except OSError:
            return False
        await stream.aclose()
        return True
    return False


async def _host_verdict(ctx: ProbeContext, host: str) -> Verdict | None:
    """The components and ports on ``host`` when not one of them accepts a connection; None otherwise."""
    ports: dict[int, set[str]] = {}
    for component in ctx.targets.components:
        for ep in ctx.for_component(component).endpoints():
            if ep.host == host and ep.port is not None:
                ports.setdefault(ep.port, set()).add(component)
    kube = ctx.targets.kubernetes
    api = httpx.URL(kube.url) if kube.mode == "url" and kube.url else None
    if api is not None and api.host == host:  # a local cluster's API server, on the same host as its NodePorts
        ports.setdefault(api.port or (443 if api.scheme == "https" else 80), set()).add("kubernetes")
    components = sorted(set().union(*ports.values())) if ports else []
    if len(components) < 2:
        return None  # one component on this host: its own "not listening" says it all
    answered: list[int] = []

    async def check(port: int, scope: anyio.CancelScope) -> None:
        if await _accepts(host, port):
            answered.append(port)
            scope.cancel()  # one answer settles it: the host is up (no waiting on a black-holed port)

    async with anyio.create_task_group() as tg:
        for port in ports:
            tg.start_soon(check, port, tg.cancel_scope)
    if answered:
        return None
    ev = {"host": host, "ports": sorted(ports), "components": components}
    summary = f"nothing on {host} accepts a connection: {len(ports)} ports of {', '.join(components)} all fail"
    return Verdict(Status.FAIL, "tcp.host_down", summary, ev, host, "kubernetes", Severity.CRITICAL)


@follow_up(
    "host_down",
    on=[Code.TCP_REFUSED, Code.TCP_TIMEOUT],
    statuses=[Status.FAIL],
    timeout=5.0,
    description="When a port fails: does anything on that host accept a connection?",
    codes=CODES,
)
async def host_down(ctx: ProbeContext, trigger: Finding) -> list[Finding]:
    host = trigger.evidence.get("host")
    if not isinstance(host, str) or not host or trigger.vantage != ctx.vantage:
        return []
    verdict = await ctx.services.once.get(("host_down", ctx.vantage, host), lambda: _host_verdict(ctx, host))
    return [] if verdict is None else [verdict.finding(ctx)]
