"""Bus benchmark: findings/s through publish -> bus -> coordinator, and RSS over 1,000,000 findings.

Target (issue 2): >= 50,000 findings/s on a 2-core machine, memory flat over 1,000,000 findings.
Findings come from a pool of distinct, immutable findings (1,000 components x 5 checks) published round-robin by
10 concurrent publishers, so what is measured is the bus and the coordinator, not pydantic construction (which
is measured separately and printed for context).

Run: .venv/bin/python -m bench.bus_throughput [--total N]
"""

from __future__ import annotations

import argparse
import resource
import time

import anyio

from floe_agents.bus import Bus
from floe_agents.coordinator import Coordinator
from floe_agents.findings import Code, Finding, Status


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def pool(components: int = 1000, checks: int = 5) -> list[Finding]:
    return [
        Finding(
            component=f"c{c}",
            check=f"k{k}",
            status=Status.FAIL if (c + k) % 7 == 0 else Status.OK,
            code=Code.TCP_REFUSED if (c + k) % 7 == 0 else Code.TCP_OPEN,
            summary="bench",
            subject=f"h{c}:{k}",
        )
        for c in range(components)
        for k in range(checks)
    ]


async def run(total: int, publishers: int) -> None:
    findings = pool()
    t0 = time.perf_counter()
    pool()
    build_rate = len(findings) / (time.perf_counter() - t0)

    coordinator = Coordinator()
    bus = Bus(buffer=1024)
    sub = bus.subscribe("coordinator")
    pubs = [bus.publisher() for _ in range(publishers)]
    bus.close()
    per_pub = total // publishers
    samples: list[tuple[int, float]] = []
    rss_start = rss_mb()

    async def produce(i: int) -> None:
        async with pubs[i]:
            n = len(findings)
            for j in range(per_pub):
                await pubs[i].publish(findings[(i * per_pub + j) % n])
                if i == 0 and j % (per_pub // 10 or 1) == 0:
                    samples.append((coordinator.received, rss_mb()))

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        tg.start_soon(coordinator.consume, sub)
        for i in range(publishers):
            tg.start_soon(produce, i)
    elapsed = time.perf_counter() - start
    analysis_t0 = time.perf_counter()
    analysis = coordinator.analyze()
    analysis_s = time.perf_counter() - analysis_t0
    rss_end = rss_mb()
    rate = coordinator.received / elapsed

    print(f"findings through bus -> coordinator : {coordinator.received:,} in {elapsed:.2f}s")
    print(f"throughput                          : {rate:,.0f} findings/s  (target >= 50,000: {rate / 50_000:.2f}x)")
    print(f"pydantic Finding construction       : {build_rate:,.0f}/s (context, not in the figure above)")
    print(f"distinct keys held by coordinator   : {len(coordinator.latest):,}")
    print(f"analysis of the latest findings     : {analysis_s:.2f}s, {len(analysis.root_causes)} root causes")
    mid = [r for n, r in samples if n >= total * 0.1]
    base = mid[0] if mid else rss_start
    print(f"RSS at start / after 10% / at end   : {rss_start:.1f} / {base:.1f} / {rss_end:.1f} MB")
    print(f"RSS growth from 10% to 100%         : {rss_end - base:+.1f} MB (ratio end/10% = {rss_end / base:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--publishers", type=int, default=10)
    args = parser.parse_args()
    anyio.run(run, args.total, args.publishers)


if __name__ == "__main__":
    main()
