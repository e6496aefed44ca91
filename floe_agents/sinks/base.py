"""What every sink is given and what it promises: the rendered report, the run's settings, one async ``write``.

Why rendered text and not the report object: a sink only stores; the command (investigate or heal) renders its own
report, both as Markdown and as JSON, so the two stores that keep history (ConfigMap, S3) can keep the JSON for
machines and the Markdown for people whatever ``--json`` chose for stdout and the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

from floe_agents.config.platform import PlatformConfig
from floe_agents.config.targets import Targets
from floe_agents.sinks.spec import SinkSpec

__all__ = ["Rendered", "ReportKind", "Sink", "SinkContext", "SinkError", "entry_names"]

ReportKind = Literal["report", "heal"]  # investigate's report, heal's report: their entries never collide


@dataclass(frozen=True, slots=True)
class Rendered:
    """One report, rendered both ways; ``as_json`` is what stdout and a file get."""

    kind: ReportKind
    generated_at: datetime
    markdown: str
    json: str
    as_json: bool

    @property
    def text(self) -> str:
        return self.json if self.as_json else self.markdown


@dataclass(frozen=True)
class SinkContext:
    """What a sink may need from the run: the targets (namespace, Kubernetes API), platform.yaml (storage
    endpoints) and ``credential`` (a named credential from the targets file or the environment, see
    :meth:`floe_agents.declarations.Declarations.credential`)."""

    targets: Targets
    platform: PlatformConfig | None
    credential: Callable[[str], str | None]


class SinkError(Exception):
    """A sink could not store the report; the message is the reason, one line, for the ``sink.failed`` finding."""


class Sink(Protocol):
    @property
    def spec(self) -> SinkSpec: ...

    async def write(self, report: Rendered) -> str:
        """Store ``report``; returns where it went (for the line on stderr); SinkError when it cannot."""
        ...


def entry_names(report: Rendered) -> tuple[str, str, str]:
    """The history entry and the two latest entries a store keeps: ``report-20260102T030405.123Z.json``,
    ``report-latest.json``, ``report-latest.md`` (``heal-...`` for heal). Names sort by time; ConfigMap-safe."""
    at = report.generated_at.astimezone(UTC)
    stamp = at.strftime("%Y%m%dT%H%M%S.") + f"{at.microsecond // 1000:03d}Z"
    return f"{report.kind}-{stamp}.json", f"{report.kind}-latest.json", f"{report.kind}-latest.md"
