"""Giving one report to every sink, so that a sink that fails costs only itself.

Why in two passes: a failure is a ``sink.failed`` finding in the report, and every sink that works should carry
it. So the sinks that store (file, ConfigMap, S3) are written at once, each within :data:`SINK_TIMEOUT_S`; when
any failed, the ones that succeeded are written again with the report that names the failures (their entries have
the same names: the second write replaces the first); stdout, which cannot be taken back, is written last, with
the final report. A failure is never a traceback: its reason is one line, scrubbed of the run's secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio

from floe_agents.findings import Finding, Severity, Status
from floe_agents.redact import Redactor
from floe_agents.sinks.base import Rendered, Sink, SinkContext, SinkError
from floe_agents.sinks.spec import SinkSpec

__all__ = ["SINK_FAILED", "SINK_TIMEOUT_S", "Delivery", "deliver", "make_sink"]

SINK_FAILED = "sink.failed"
SINK_TIMEOUT_S = 20.0  # one sink's write, its client's start included (a kubeconfig may take 10 s to load)
Amend = Callable[[Sequence[Finding]], Rendered]  # the report again, with these findings in it


@dataclass(frozen=True)
class Delivery:
    """What became of the report: where it went (one line each) and the sinks that failed, as findings."""

    written: tuple[str, ...]
    failures: tuple[Finding, ...]


def make_sink(spec: SinkSpec, ctx: SinkContext) -> Sink:
    """The sink ``spec`` names; each kind's client library loads only when its sink is used."""
    if spec.kind == "file":
        from floe_agents.sinks.file import FileSink  # noqa: PLC0415

        return FileSink(spec)
    if spec.kind == "configmap":
        from floe_agents.sinks.configmap import ConfigMapSink  # noqa: PLC0415

        return ConfigMapSink(spec, ctx)
    if spec.kind == "s3":
        from floe_agents.sinks.s3 import S3Sink  # noqa: PLC0415

        return S3Sink(spec, ctx)
    from floe_agents.sinks.stdout import StdoutSink  # noqa: PLC0415

    return StdoutSink(spec)


def _failed(sink: Sink, namespace: str, reason: str, redactor: Redactor) -> Finding:
    where = sink.spec.describe(namespace)
    return Finding(
        component="floe-agents",
        check="sink",
        status=Status.WARN,
        severity=Severity.MEDIUM,
        code=SINK_FAILED,
        summary=redactor(f"the report could not be written to {where}: {reason}"),
        subject=where,
        evidence={"sink": sink.spec.kind, "target": where, "reason": redactor(reason)},
    )


async def _write(sink: Sink, report: Rendered) -> str:
    """Where the report went; SinkError (with a one-line reason) for whatever went wrong."""
    try:
        with anyio.fail_after(SINK_TIMEOUT_S):
            return await sink.write(report)
    except SinkError:
        raise
    except TimeoutError:
        raise SinkError(f"no answer within {SINK_TIMEOUT_S:g}s") from None
    except Exception as exc:  # a client's own error type: a reason, never a traceback
        raise SinkError(" ".join(f"{type(exc).__name__}: {exc}".split())) from None


async def _pass(sinks: Sequence[Sink], report: Rendered) -> dict[int, str | SinkError]:
    results: dict[int, str | SinkError] = {}

    async def one(index: int, sink: Sink) -> None:
        try:
            results[index] = await _write(sink, report)
        except SinkError as exc:
            results[index] = exc

    async with anyio.create_task_group() as tg:
        for index, sink in enumerate(sinks):
            tg.start_soon(one, index, sink)
    return results


async def deliver(
    specs: Sequence[SinkSpec], first: Rendered, amend: Amend, ctx: SinkContext, redactor: Redactor
) -> Delivery:
    """Write the report to every sink (see the module's docstring for the order); never raises for a sink."""
    sinks = [make_sink(spec, ctx) for spec in specs]
    stores = [s for s in sinks if s.spec.kind != "stdout"]
    namespace = ctx.targets.namespace
    results = await _pass(stores, first)
    failures = [
        _failed(stores[i], namespace, str(r), redactor) for i, r in sorted(results.items()) if isinstance(r, SinkError)
    ]
    report = first
    if failures:
        report = amend(failures)
        ok = [i for i, r in sorted(results.items()) if not isinstance(r, SinkError)]
        again = await _pass([stores[i] for i in ok], report)
        for j, result in sorted(again.items()):
            results[ok[j]] = result
            if isinstance(result, SinkError):  # it worked a moment ago; the others keep the first failures' report
                failures.append(_failed(stores[ok[j]], namespace, str(result), redactor))
    written = [r for _, r in sorted(results.items()) if isinstance(r, str)]
    for sink in sinks:
        if sink.spec.kind == "stdout":
            final = amend(failures) if failures else first
            try:
                written.append(await _write(sink, final))
            except SinkError as exc:
                failures.append(_failed(sink, namespace, str(exc), redactor))
    return Delivery(tuple(written), tuple(failures))
