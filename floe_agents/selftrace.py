"""floe-agents' own traces: where they go, and sending them once at the end of a run, bounded in time.

Why: a CronJob that runs every few minutes should show up in the platform's Jaeger like any other service (how
long each agent and probe took, which follow-ups a finding set off, what heal changed). Traces are off unless a
collector is named — ``OTEL_EXPORTER_OTLP_ENDPOINT``, else platform.yaml's ``observability.otlp_endpoint`` (with
``observability.traces`` on) — and ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn them off. The
protocol is ``OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`` (``grpc`` or ``http/protobuf``), else gRPC for port 4317 (the
collector's gRPC port, what platform.yaml names) and HTTP/protobuf otherwise; the service is ``OTEL_SERVICE_NAME``
(default ``floe-agents``).

The spans are kept in memory while the run runs (no exporter thread competes with the probes) and sent in one
request at the end, in a daemon thread the caller waits for at most ``budget_s``: an unreachable collector costs a
warning line, never a traceback, never time past the run's deadline and grace. The OpenTelemetry SDK and the
exporter are imported only by :func:`start_telemetry`: a run without a collector never loads them.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import socket
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from floe_agents import __version__
from floe_agents.config import ConfigError
from floe_agents.config.platform import PlatformConfig

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

__all__ = ["EXPORT_TIMEOUT_S", "MAX_SPANS", "Telemetry", "TelemetrySettings", "start_telemetry", "telemetry_settings"]

Protocol = Literal["grpc", "http/protobuf"]
EXPORT_TIMEOUT_S = 5.0  # the most the export may take, whatever time the run has left
MAX_SPANS = 20_000  # a run with 1,000 components makes ~5,000; past this, spans are counted, not kept
GRPC_PORT = 4317


@dataclass(frozen=True, slots=True)
class TelemetrySettings:
    """Where the traces go: ``endpoint`` as given, ``source`` says who named it (for messages)."""

    endpoint: str
    protocol: Protocol
    service_name: str
    source: str


def telemetry_settings(environ: Mapping[str, str], platform: PlatformConfig | None) -> TelemetrySettings | None:
    """The settings the environment and platform.yaml give, or None when traces are off; ConfigError for a value
    floe-agents cannot use (a usage error: one line, exit 3)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return None
    endpoint, source = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip(), "OTEL_EXPORTER_OTLP_ENDPOINT"
    if not endpoint and platform is not None and platform.observability.traces:
        endpoint, source = (platform.observability.otlp_endpoint or "").strip(), "observability.otlp_endpoint"
    if not endpoint:
        return None
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(source, f"{endpoint!r} is not an http(s) URL of an OTLP collector")
    name = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    chosen = environ.get(name, "").strip() or environ.get(name := "OTEL_EXPORTER_OTLP_PROTOCOL", "").strip()
    if chosen and chosen not in ("grpc", "http/protobuf"):
        raise ConfigError(name, f"{chosen!r} is not supported (grpc or http/protobuf)")
    protocol: Protocol = "grpc" if chosen == "grpc" or (not chosen and port == GRPC_PORT) else "http/protobuf"
    service = environ.get("OTEL_SERVICE_NAME", "").strip() or "floe-agents"
    return TelemetrySettings(endpoint, protocol, service, source)


def _exporter(settings: TelemetrySettings, timeout_s: float) -> SpanExporter:
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

        insecure = urlsplit(settings.endpoint).scheme == "http"
        return OTLPSpanExporter(endpoint=settings.endpoint, insecure=insecure, timeout=timeout_s)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter as HttpExporter,
    )

    return HttpExporter(endpoint=settings.endpoint.rstrip("/") + "/v1/traces", timeout=timeout_s)


def _unreachable(endpoint: str, timeout_s: float) -> str | None:
    """Why nothing could take the spans (the name does not resolve here, nothing listens), or None. Why look first:
    the exporters retry an unavailable collector until their timeout, so a cluster-only name seen from a laptop (what
    platform.yaml names) cost every local run the whole export budget; one connection tells in milliseconds."""
    parts = urlsplit(endpoint)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    if urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(host):
        return None  # a proxy carries the spans (both exporters honour it): only the export can tell
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except socket.gaierror:
        return f"{host} does not resolve from here"
    except ConnectionRefusedError:
        return f"nothing listens on {host}:{port}"
    except OSError as exc:
        return f"{host}:{port} cannot be reached ({exc.strerror or type(exc).__name__})"
    return None


class _Records(logging.Handler):
    """The exporter's own log lines while it exports: the reason of a failure, told by us in one line."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.messages.append(" ".join(record.getMessage().split())[:300])


class Telemetry:
    """One process's tracer and the spans it made. Built by :func:`start_telemetry`; :meth:`finish` once."""

    def __init__(self, settings: TelemetrySettings, provider: TracerProvider, kept: list[ReadableSpan]) -> None:
        self.settings = settings
        self.tracer: Tracer = provider.get_tracer("floe_agents", __version__)
        self._provider = provider
        self._kept = kept
        self.root: Span | None = None

    def start_root(self, name: str, attributes: Mapping[str, str]) -> Span:
        """The run's span (the trace's root): every other span of the process is under it."""
        self.root = self.tracer.start_span(name, attributes=dict(attributes))
        return self.root

    @property
    def trace_id(self) -> str:
        return format(self.root.get_span_context().trace_id, "032x") if self.root is not None else ""

    def finish(self, budget_s: float) -> str | None:
        """End the root span and send every span, waiting at most ``budget_s`` (capped at EXPORT_TIMEOUT_S);
        returns a warning (one line) when they were not all delivered, else None."""
        if self.root is not None:
            self.root.end()
        spans, where = list(self._kept), f"{self.settings.endpoint} ({self.settings.protocol})"
        budget = min(EXPORT_TIMEOUT_S, budget_s)
        if budget <= 0:
            return f"traces not sent to {where}: the run's deadline left no time"
        result: list[bool] = []
        records = _Records()
        otel_log = logging.getLogger("opentelemetry")
        otel_log.addHandler(records)
        otel_log.propagate = False  # the exporter's lines would bypass structlog: we tell the reason ourselves

        def send() -> None:
            if (unreachable := _unreachable(self.settings.endpoint, budget)) is not None:
                records.messages.append(unreachable)
                result.append(False)
                return
            try:
                exporter = _exporter(self.settings, budget)
                result.append(exporter.export(spans).name == "SUCCESS")
            except ImportError:  # the package has it only in its lab extra; the image installs it
                records.messages.append("the OTLP exporter is not installed (pip install opentelemetry-exporter-otlp)")
                result.append(False)
            except Exception as exc:  # an exporter's bug: a reason, never a traceback
                records.messages.append(f"{type(exc).__name__}: {exc}")
                result.append(False)

        thread = threading.Thread(target=send, name="floe-agents trace export", daemon=True)
        thread.start()
        thread.join(budget)
        dropped = len(spans) >= MAX_SPANS  # the processor stops keeping spans there
        if not result:
            return f"traces not sent to {where}: no answer within {budget:g}s"
        if not result[0]:
            why = records.messages[-1] if records.messages else "the collector refused them"
            return f"traces not sent to {where}: {why}"
        if dropped:
            return f"only the first {MAX_SPANS} spans were sent to {where}"
        return None


def start_telemetry(settings: TelemetrySettings, command: str) -> Telemetry:
    """A tracer provider for this process (never installed as the global one: the tracer is passed down)."""
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415 - the SDK loads only when traces are on
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider  # noqa: PLC0415

    kept: list[ReadableSpan] = []

    class Keep(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            if len(kept) < MAX_SPANS:
                kept.append(span)

    resource = Resource.create(
        {"service.name": settings.service_name, "service.version": __version__, "floe_agents.command": command}
    )
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(Keep())
    # The exporter is imported now, before the run's clock starts (gRPC's takes a while), not in the export's time.
    with contextlib.suppress(ImportError):  # a missing exporter package is the export's reason, told then
        importlib.import_module(f"opentelemetry.exporter.otlp.proto.{settings.protocol[:4]}.trace_exporter")
    return Telemetry(settings, provider, kept)
