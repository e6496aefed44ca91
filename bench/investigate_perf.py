"""Investigation benchmark (issue 4): concurrency, a black-holed endpoint, and a 1,000-component topology.

In one run it prints:
1. against the lab (healthy scenario, every registered probe): the investigation's wall time vs the slowest single
   probe (target <= 1.3x) and vs the same probes run one after another (target >= 5x faster);
2. the same investigation with one extra component whose endpoint accepts TCP but never answers (a listener with a
   full accept backlog, and a server that accepts and never replies): the extra wall time vs the probe timeout;
3. a generated topology of 1,000 components (random dependency DAG, each with a real HTTP endpoint on loopback)
   through the same engine with the built-in dns/tcp/http_health probes: wall time (target <= 10 s) and peak RSS
   (target <= 250 MB).

Run: .venv/bin/python -m bench.investigate_perf [--skip-lab]
"""

from __future__ import annotations

import argparse
import random
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from aiohttp import web

from floe_agents.config import PlatformConfig, Targets, load_targets, load_yaml_model
from floe_agents.registry import Registry
from floe_agents.runner import RunOptions
from floe_agents.swarm import Plan, investigate, plan_agents
from floe_agents.topology import ComponentSpec, Topology


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def sequential(plan: Plan) -> float:
    """The same probes, one after another, through the runner's own execute (timeouts, retries included)."""
    import httpx  # noqa: PLC0415

    from floe_agents.context import ProbeContext, Services  # noqa: PLC0415
    from floe_agents.kube import open_kube  # noqa: PLC0415
    from floe_agents.resolve import resolvers_for  # noqa: PLC0415
    from floe_agents.runner import Runner  # noqa: PLC0415

    t0 = time.monotonic()
    async with httpx.AsyncClient() as http, open_kube(plan.targets.kubernetes) as kube:
        services = Services(http, resolvers_for(plan.targets.vantages, plan.targets.vantage), kube=kube)
        base = ProbeContext("", "", plan.targets, services, plan.platform)
        runner = Runner([], [], base, plan.options)
        for agent in plan_agents(plan):
            for level in agent.levels():
                for spec in level:
                    await runner.execute(spec, base.for_component(agent.component).for_check(spec.name))
    return time.monotonic() - t0


async def lab_part(state: Path) -> None:
    from floe_agents.lab.control import lab_down, lab_up  # noqa: PLC0415
    from floe_agents.lab.scenario import load_scenario  # noqa: PLC0415

    await lab_up(state, load_scenario("healthy"), lambda _: None, run_pipeline=True)
    try:
        targets = load_targets(state / "targets.yaml")
        platform = load_yaml_model(PlatformConfig, state / "platform.yaml")
        plan = Plan(targets=targets, registry=Registry.from_entry_points(), platform=platform)
        await investigate(plan)  # warm-up (imports, first connections)
        result = await investigate(plan)
        slowest = max((d, f"{a}/{p}") for a, run in result.record.agents.items() for p, d in run.probes.items())
        seq = await sequential(plan)
        print(
            f"lab: {len(result.agents)} agents, {sum(len(a.probes) for a in result.agents)} probes, "
            f"{len(result.analysis.findings)} findings"
        )
        print(f"investigate wall time          : {result.wall_s:6.2f} s")
        print(
            f"slowest single probe           : {slowest[0]:6.2f} s ({slowest[1]})   ratio wall/slowest = "
            f"{result.wall_s / slowest[0]:.2f} (target <= 1.3)"
        )
        print(f"same probes one after another  : {seq:6.2f} s   speed-up = {seq / result.wall_s:.1f}x (target >= 5x)")
        await black_hole_part(targets, platform, result.wall_s)
    finally:
        await lab_down(state, lambda _: None)


async def black_hole_part(targets: Targets, platform: PlatformConfig, baseline: float) -> None:
    backlog = socket.socket()
    backlog.bind(("127.0.0.1", 0))
    backlog.listen(0)
    port = backlog.getsockname()[1]
    fillers = [socket.socket() for _ in range(4)]
    for f in fillers:
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", port))

    async def silent(request: web.Request) -> web.Response:
        await anyio.sleep(3600)
        return web.Response()

    app = web.Application()
    app.router.add_get("/{tail:.*}", silent)
    runner = web.AppRunner(app, shutdown_timeout=0.1, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    silent_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    data: dict[str, Any] = targets.model_dump(mode="json")
    data["kubernetes"]["token"] = targets.kubernetes.token.get_secret_value() if targets.kubernetes.token else None
    for key, secret in targets.credentials:
        if hasattr(secret, "get_secret_value"):
            data["credentials"][key] = secret.get_secret_value()
    data["components"]["blackhole"] = {
        "endpoints": {
            "backlog": {"urls": {"local": f"http://127.0.0.1:{port}"}, "health_path": "/"},
            "silent": {"urls": {"local": f"http://127.0.0.1:{silent_port}"}, "health_path": "/health"},
        }
    }
    plan = Plan(targets=Targets.model_validate(data), registry=Registry.from_entry_points(), platform=platform)
    result = await investigate(plan)
    timeouts = max(s.timeout_s for s in plan.registry.specs.values() if s.name in ("tcp", "http_health"))
    extra = result.wall_s - baseline
    print(
        f"with a black-holed component   : {result.wall_s:6.2f} s   extra {extra:+.2f} s vs the largest "
        f"probe timeout {timeouts:g} s (target: extra <= timeout)"
    )
    await runner.cleanup()
    for f in fillers:
        f.close()
    backlog.close()


SERVER = """
import sys
from aiohttp import web
async def ok(request):
    return web.json_response({"status": "UP"})
app = web.Application()
app.router.add_get("/health", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), backlog=2048, print=lambda *_: print("READY", flush=True))
"""


async def scale_part(n: int) -> None:
    """The endpoints are served by a separate process, so the figures are the engine's, not the server's."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = await anyio.open_process([sys.executable, "-c", SERVER, str(port)])
    assert server.stdout is not None
    await server.stdout.receive()  # READY
    rng = random.Random(7)
    names = [f"c{i:04d}" for i in range(n)]
    specs = [
        ComponentSpec(name, tuple(rng.sample(names[:i], min(i, rng.randint(0, 3))))) for i, name in enumerate(names)
    ]
    targets = Targets.model_validate(
        {
            "vantages": {"local": {}},
            "components": {
                name: {"endpoints": {"api": {"urls": {"local": f"http://127.0.0.1:{port}"}, "health_path": "/health"}}}
                for name in names
            },
        }
    )
    registry = Registry.from_entry_points()
    only = {k: v for k, v in registry.specs.items() if k in ("dns", "tcp", "http_health", "resolve_everywhere")}
    plan = Plan(
        targets=targets,
        registry=Registry.of(only.values()),
        topology=Topology.of(specs),
        options=RunOptions(deadline_s=60, concurrency=64),
    )
    t0 = time.monotonic()
    result = await investigate(plan)
    wall = time.monotonic() - t0
    server.terminate()
    await server.wait()
    await server.aclose()
    print(f"scale: {n} components, {len(result.analysis.findings)} findings, overall {result.analysis.overall.value}")
    print(f"scale wall time                : {wall:6.2f} s   (target <= 10 s: ratio {wall / 10:.2f})")
    print(
        f"peak RSS of the whole process  : {peak_rss_mb():6.0f} MB (target <= 250 MB: ratio {peak_rss_mb() / 250:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-lab", action="store_true")
    parser.add_argument("--components", type=int, default=1000)
    args = parser.parse_args()
    anyio.run(scale_part, args.components)  # first, so peak RSS is the engine's, not the lab client's
    if not args.skip_lab:
        with tempfile.TemporaryDirectory(prefix="floe-bench-") as tmp:
            anyio.run(lab_part, Path(tmp))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
