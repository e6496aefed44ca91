"""The report in a file, written atomically: the whole new report, or the old one left byte for byte
(:func:`floe_agents.sinks.atomic.write_atomically`). ``-o/--report PATH`` is this sink."""

from __future__ import annotations

from dataclasses import dataclass

import anyio.to_thread

from floe_agents.sinks.atomic import write_atomically
from floe_agents.sinks.base import Rendered, SinkError
from floe_agents.sinks.spec import SinkSpec

__all__ = ["FileSink"]


@dataclass(frozen=True)
class FileSink:
    spec: SinkSpec

    async def write(self, report: Rendered) -> str:
        path = self.spec.path
        try:
            await anyio.to_thread.run_sync(write_atomically, path, report.text)
        except OSError as exc:
            raise SinkError(str(exc.strerror or exc)) from None
        return str(path)
