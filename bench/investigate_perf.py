"""Investigation benchmark (issue 4): concurrency, black-holed endpoints, and a 1,000-component topology.

In one run it prints:
1. against the lab (healthy scenario, every registered probe), on loopback and again behind bench.latency_proxy
   (20, 50 and 100 ms of round-trip time by default, as a cluster reached over the network has); medians of 5 runs:
   the investigation's wall time vs the slowest single probe (target <= 1.3x) and vs the same probes run one
   after another (target >= 5x faster); and the CPU both ways cost (this process's, and the whole machine's while
   the probes ran one after another), which bounds any speed-up where the network adds no waiting;
2. the lab with cube's endpoint replaced by one that accepts TCP and never answers, and with an extra endpoint
   that never accepts a connection: the extra wall time vs the timeout of the probes that wait on it;
3. a generated topology of 1,000 components (random dependency DAG, each with a real HTTP endpoint on loopback)
   through the same engine with the built-in dns/tcp/http_health probes: wall time (target <= 10 s) and peak RSS
   (target <= 250 MB).

Run: .venv/bin/python -m bench.investigate_perf [--skip-lab] [--delay-ms 10 25]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import socket
import statistics
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


def machine_busy_s() -> float:
    """CPU seconds every process on this machine has used so far (all cores; kernel, lab servers and this one)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


async def sequential(plan: Plan) -> tuple[float, float]:
    """The same probes, one after another, through the runner's own execute (timeouts, retries included): the
    wall time, and the CPU the whole machine spent meanwhile (the work any schedule of these probes must do)."""
    import httpx  # noqa: PLC0415

    from floe_agents.context import KubeHandle, ProbeContext, Services  # noqa: PLC0415
    from floe_agents.kube import open_kube  # noqa: PLC0415
    from floe_agents.resolve import resolvers_for  # noqa: PLC0415
    from floe_agents.runner import Runner  # noqa: PLC0415
    from floe_agents.transport import RunTransport  # noqa: PLC0415

    t0, busy0 = time.monotonic(), machine_busy_s()
    async with httpx.AsyncClient(transport=RunTransport()) as http, open_kube(plan.targets.kubernetes) as kube:
        services = Services(http, resolvers_for(plan.targets.vantages, plan.targets.vantage), kube=KubeHandle.of(kube))
        base = ProbeContext("", "", plan.targets, services, plan.platform)
        runner = Runner([], [], base, plan.options)
        for agent in plan_agents(plan):
            for level in agent.levels():
                for spec in level:
                    await runner.execute(spec, base.for_component(agent.component).for_check(spec.name))
    return time.monotonic() - t0, machine_busy_s() - busy0


async def measure(plan: Plan, label: str, repeat: int = 5) -> float:
    """Concurrency figures of the lab investigation (after a warm-up run), each the median of ``repeat`` runs:
    wall vs slowest probe vs the same probes one after another."""
    await investigate(plan)  # warm-up (imports, first connections)
    runs, cpus = [], []
    for _ in range(repeat):
        cpu = time.process_time()
        result = await investigate(plan)
        cpus.append(time.process_time() - cpu)
        slowest = max((d, f"{a}/{p}") for a, run in result.record.agents.items() for p, d in run.probes.items())
        seq_wall, seq_busy = await sequential(plan)
        runs.append((result.wall_s, slowest, seq_wall, result, seq_busy))
    walls = sorted(r[0] for r in runs)
    wall, (slow_s, slow_name) = statistics.median(walls), sorted(r[1] for r in runs)[repeat // 2]
    seq = statistics.median(r[2] for r in runs)
    busy = statistics.median(r[4] for r in runs)
    result = runs[-1][3]
    print(
        f"{label}: {len(result.agents)} agents, {sum(len(a.probes) for a in result.agents)} probes, "
        f"{len(result.analysis.findings)} findings, overall {result.analysis.overall.value}; medians of {repeat} runs"
    )
    print(f"  investigate wall time         : {wall:6.2f} s   (runs {walls[0]:.2f} .. {walls[-1]:.2f} s)")
    print(
        f"  slowest single probe          : {slow_s:6.2f} s ({slow_name})   ratio wall/slowest = "
        f"{wall / slow_s:.2f} (target <= 1.3)"
    )
    print(f"  same probes one after another : {seq:6.2f} s   speed-up = {seq / wall:.1f}x (target >= 5x)")
    cpu, cores = statistics.median(cpus), os.cpu_count() or 1
    print(f"  CPU of one investigation      : {cpu:6.2f} s   (this process's one event loop)")
    print(
        f"  machine CPU, one after another: {busy:6.2f} s   in {seq:.2f} s of wall time (kernel, lab servers and "
        f"this process: {busy / seq:.1f} of {cores} cores busy)"
    )
    bound = seq / max(cpu, busy / cores)
    print(
        f"  bound set by that work        : {bound:6.1f}x   (any schedule does about the same work: {busy:.2f} s over "
        f"{cores} cores, {cpu:.2f} s of it on one event loop)"
    )
    durations = sorted(((d, f"{a}/{p}") for a, run in result.record.agents.items() for p, d in run.probes.items()))
    print("  slowest probes (last run)     : " + ", ".join(f"{name} {d:.2f}" for d, name in durations[::-1][:6]))
    return wall


async def with_latency(state: Path, platform: PlatformConfig, delay_ms: float) -> None:
    """The same lab behind bench.latency_proxy: every local port gets ``delay_ms`` each way."""
    text = (state / "targets.yaml").read_text()
    ports = sorted({int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", text)})
    listen = {}
    for port in ports:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            listen[port] = s.getsockname()[1]
    pairs = [f"{listen[p]}:{p}" for p in ports]
    proxy = await anyio.open_process(
        [sys.executable, "-m", "bench.latency_proxy", "--delay-ms", str(delay_ms), *pairs], stderr=None
    )
    try:
        assert proxy.stdout is not None
        await proxy.stdout.receive()  # READY
        proxied = re.sub(r"127\.0\.0\.1:(\d+)", lambda m: f"127.0.0.1:{listen[int(m.group(1))]}", text)
        path = state / "targets-latency.yaml"
        path.write_text(proxied)
        plan = Plan(targets=load_targets(path), registry=Registry.from_entry_points(), platform=platform)
        await measure(plan, f"lab behind {2 * delay_ms:g} ms of round-trip latency")
    finally:
        proxy.terminate()
        await proxy.wait()
        await proxy.aclose()


async def lab_part(state: Path, delays_ms: list[float]) -> None:
    from floe_lab.control import lab_down, lab_up  # noqa: PLC0415
    from floe_lab.dagster_runs import wait_for_run  # noqa: PLC0415
    from floe_lab.scenario import load_scenario  # noqa: PLC0415

    info = await lab_up(state, load_scenario("healthy"), lambda _: None, run_pipeline=True)
    try:
        if info.run_id:  # a healthy lab is judged after its pipeline run (and its telemetry) has finished
            web_port = info.endpoints["floe-dagster-dagster-webserver/http"].rsplit(":", 1)[1]
            await wait_for_run(f"http://127.0.0.1:{web_port}", info.run_id)
        targets = load_targets(state / "targets.yaml")
        platform = load_yaml_model(PlatformConfig, state / "platform.yaml")
        plan = Plan(targets=targets, registry=Registry.from_entry_points(), platform=platform)
        baseline = await measure(plan, "lab on loopback (no network latency)")
        for delay_ms in delays_ms:
            await with_latency(state, platform, delay_ms)
        await black_hole_part(targets, platform, baseline)
    finally:
        await lab_down(state, lambda _: None)


def _plain(targets: Targets) -> dict[str, Any]:
    """The targets as a plain document, secrets included (to build variants of them)."""
    data: dict[str, Any] = targets.model_dump(mode="json")
    data["kubernetes"]["token"] = targets.kubernetes.token.get_secret_value() if targets.kubernetes.token else None
    for key, secret in targets.credentials:
        if hasattr(secret, "get_secret_value"):
            data["credentials"][key] = secret.get_secret_value()
    return data


async def _extra_wall(data: dict[str, Any], platform: PlatformConfig, baseline: float) -> float:
    plan = Plan(targets=Targets.model_validate(data), registry=Registry.from_entry_points(), platform=platform)
    return (await investigate(plan)).wall_s - baseline


async def black_hole_part(targets: Targets, platform: PlatformConfig, baseline: float) -> None:
    """(1) cube's endpoint replaced by one that accepts TCP and never answers; (2) an extra endpoint whose SYNs are
    never accepted (full backlog). Each: the run's extra wall time vs the timeout of the probes that wait on it."""

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
    registry = Registry.from_entry_points()
    data = _plain(targets)
    for ep in data["components"]["cube"]["endpoints"].values():
        ep["urls"]["local"] = f"http://127.0.0.1:{silent_port}"
    waiting = max(s.timeout_s for s in registry.specs.values() if s.kind == "probe" and s.applies_to("cube", True))
    extra = await _extra_wall(data, platform, baseline)
    print(
        f"cube accepts TCP, never answers: extra {extra:+.2f} s vs its probes' largest timeout {waiting:g} s "
        f"(ratio {extra / waiting:.2f}, target <= 1)"
    )
    await runner.cleanup()

    backlog = socket.socket()
    backlog.bind(("127.0.0.1", 0))
    backlog.listen(0)
    port = backlog.getsockname()[1]
    fillers = [socket.socket() for _ in range(4)]
    for f in fillers:
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", port))
    data = _plain(targets)
    data["components"]["blackhole"] = {
        "endpoints": {"api": {"urls": {"local": f"http://127.0.0.1:{port}"}, "health_path": "/"}}
    }
    tcp = registry.specs["tcp"].timeout_s
    extra = await _extra_wall(data, platform, baseline)
    print(
        f"an endpoint that drops SYNs    : extra {extra:+.2f} s vs the tcp probe timeout {tcp:g} s "
        f"(ratio {extra / tcp:.2f}, target <= 1)"
    )
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
    parser.add_argument(
        "--delay-ms",
        type=float,
        nargs="*",
        default=[10.0, 25.0, 50.0],
        help="one-way latencies for the lab runs after loopback",
    )
    args = parser.parse_args()
    anyio.run(scale_part, args.components)  # first, so peak RSS is the engine's, not the lab client's
    if not args.skip_lab:
        with tempfile.TemporaryDirectory(prefix="floe-bench-") as tmp:
            anyio.run(lab_part, Path(tmp), args.delay_ms)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
