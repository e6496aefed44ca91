"""The coordinator: the bus's main consumer, and the place where findings become a diagnosis.

It keeps only the latest finding per key (component/check/subject@vantage) plus a count, so memory is bounded
by what is observed, not by how often it is observed (a watch loop or a chatty probe cannot grow it), and it reads
the bus in windows (aiostream ``chunks``) to amortise per-item overhead. When the bus completes it runs the
root-cause analysis over the component graph with the configured rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from floe_agents.analysis import Analysis, analyze
from floe_agents.bus import Subscription, windows
from floe_agents.findings import Finding
from floe_agents.rules import RuleSet, builtin_rules
from floe_agents.topology import Topology, floe_topology

__all__ = ["Coordinator"]


@dataclass
class Coordinator:
    topology: Topology = field(default_factory=floe_topology)
    rules: RuleSet = field(default_factory=builtin_rules)
    window: int = 256
    latest: dict[str, Finding] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    received: int = 0

    def observe(self, finding: Finding) -> None:
        key = finding.key
        self.latest[key] = finding
        self.counts[key] = self.counts.get(key, 0) + 1
        self.received += 1

    async def consume(self, subscription: Subscription[Finding]) -> None:
        """Read the subscription to completion (the bus's EndOfStream), in windows."""
        async with subscription:
            async for batch in windows(subscription, self.window):
                for finding in batch:
                    self.observe(finding)

    def analyze(self) -> Analysis:
        return analyze(list(self.latest.values()), self.rules, self.topology)
