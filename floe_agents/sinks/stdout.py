"""The report on standard output: the default when no sink is named, and the pod log of a CronJob."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from floe_agents.sinks.base import Rendered, SinkError
from floe_agents.sinks.spec import SinkSpec

__all__ = ["StdoutSink"]


@dataclass(frozen=True)
class StdoutSink:
    spec: SinkSpec

    async def write(self, report: Rendered) -> str:
        try:
            sys.stdout.write(report.text)
            sys.stdout.flush()
        except (OSError, ValueError) as exc:  # a closed pipe (`| head`), a closed stream
            raise SinkError(f"cannot write to stdout: {exc}") from None
        return "stdout"
