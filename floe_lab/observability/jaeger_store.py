"""The Jaeger stand-in's span store and trace search.

Why it exists: Jaeger's query API is answered from here — services and operations seen, traces found by
service/operation/tags/duration/time window (newest first, ``limit`` traces), traces rendered with processes
deduplicated per trace as ``p1``, ``p2``... Spans the stand-in records about its own query API (the
``jaeger-all-in-one`` service) are capped and never persisted; everything else can be kept in a JSON file.
"""

from __future__ import annotations

import json
import secrets
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from floe_lab.observability._serving import JsonStateFile
from floe_lab.observability.jaeger_model import (
    SpanRecord,
    display_trace_id,
    normalise_trace_id,
    records_from_request,
    str_tag,
)

__all__ = ["SELF_SERVICE", "TraceQuery", "TraceStore"]

SELF_SERVICE = "jaeger-all-in-one"
SELF_TRACE_LIMIT = 500


def _tag_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class TraceQuery:
    """Jaeger's trace-search parameters; times and durations in microseconds."""

    service: str
    start_us: int
    end_us: int
    operation: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    min_duration_us: int = 0
    max_duration_us: int = 0
    limit: int = 100
    trace_ids: tuple[str, ...] = ()  # when given, Jaeger fetches exactly these and ignores the other filters

    def matches(self, span: SpanRecord) -> bool:
        if span["process"]["serviceName"] != self.service:
            return False
        if self.operation and span["operationName"] != self.operation:
            return False
        if not self.start_us <= span["startTime"] <= self.end_us:
            return False
        if self.min_duration_us and span["duration"] < self.min_duration_us:
            return False
        if self.max_duration_us and span["duration"] > self.max_duration_us:
            return False
        if self.tags:
            seen = [*span["tags"], *span["process"]["tags"]]
            seen += [f for log in span["logs"] for f in log["fields"]]
            pairs = {(t["key"], _tag_text(t["value"])) for t in seen}
            return all((k, v) in pairs for k, v in self.tags.items())
        return True


class TraceStore:
    """In-memory traces keyed by full 32-hex trace ID; optionally persisted (self-traces are not)."""

    def __init__(self, state: JsonStateFile | None = None, *, self_service: str | None = SELF_SERVICE) -> None:
        self._traces: dict[str, dict[str, SpanRecord]] = {}
        self._self_traces: deque[str] = deque()
        self._state = state
        self.self_service = self_service
        if state is not None:
            document = state.load()
            if document:
                self._add(document.get("spans", []))

    def _add(self, records: Iterable[SpanRecord]) -> None:
        for record in records:
            self._traces.setdefault(record["traceID"], {})[record["spanID"]] = record

    def add(self, records: list[SpanRecord], *, persist: bool = True) -> None:
        self._add(records)
        if persist and records and self._state is not None:
            spans = [
                s for t in self._traces.values() for s in t.values() if s["process"]["serviceName"] != self.self_service
            ]
            self._state.save({"version": 1, "spans": spans})

    def ingest(self, request: ExportTraceServiceRequest) -> int:
        """Store one OTLP export; returns the number of spans rejected."""
        records, rejected = records_from_request(request)
        self.add(records)
        return rejected

    def services(self) -> list[str]:
        names = {s["process"]["serviceName"] for t in self._traces.values() for s in t.values()}
        if self.self_service:
            names.add(self.self_service)
        return sorted(names)

    def operations(self, service: str) -> list[tuple[str, str]]:
        """(operation name, span kind) pairs seen for ``service``."""
        found: set[tuple[str, str]] = set()
        for trace in self._traces.values():
            for span in trace.values():
                if span["process"]["serviceName"] == service:
                    kind = next((t["value"] for t in span["tags"] if t["key"] == "span.kind"), "")
                    found.add((span["operationName"], str(kind)))
        return sorted(found)

    def find(self, query: TraceQuery) -> list[dict[str, Any]]:
        if query.trace_ids:
            return [self._trace_json(t) for t in dict.fromkeys(query.trace_ids) if t in self._traces]
        hits: list[tuple[int, str]] = []
        for trace_id, spans in self._traces.items():
            if any(query.matches(s) for s in spans.values()):
                hits.append((max(s["startTime"] for s in spans.values()), trace_id))
        hits.sort(reverse=True)
        if query.limit > 0:
            hits = hits[: query.limit]
        return [self._trace_json(trace_id) for _, trace_id in hits]

    def get(self, trace_id: str) -> dict[str, Any] | None:
        full = normalise_trace_id(trace_id)
        return self._trace_json(full) if full is not None and full in self._traces else None

    def _trace_json(self, trace_id: str) -> dict[str, Any]:
        processes: dict[str, dict[str, Any]] = {}
        keys: dict[str, str] = {}
        spans = []
        for record in sorted(self._traces[trace_id].values(), key=lambda s: (s["startTime"], s["spanID"])):
            key = json.dumps(record["process"], sort_keys=True)
            if key not in keys:
                keys[key] = f"p{len(keys) + 1}"
                processes[keys[key]] = record["process"]
            span = {k: v for k, v in record.items() if k not in ("process", "parentSpanID")}
            span["traceID"] = display_trace_id(trace_id)
            span["references"] = [{**r, "traceID": display_trace_id(r["traceID"])} for r in record["references"]]
            span["processID"] = keys[key]
            span["warnings"] = None
            spans.append(span)
        return {
            "traceID": display_trace_id(trace_id),
            "spans": spans,
            "processes": processes,
            "warnings": None,
        }

    def record_self_span(
        self, operation: str, start_ns: int, end_ns: int, tags: Mapping[str, str], status: int
    ) -> None:
        """A server span for one of the stand-in's own query requests (kept in memory only)."""
        if not self.self_service:
            return
        record: SpanRecord = {
            "traceID": secrets.token_hex(16),
            "spanID": secrets.token_hex(8),
            "parentSpanID": "",
            "flags": 1,
            "operationName": operation,
            "references": [],
            "startTime": start_ns // 1000,
            "duration": max(1, (end_ns - start_ns) // 1000),
            "tags": [
                *(str_tag(k, v) for k, v in tags.items()),
                {"key": "http.status_code", "type": "int64", "value": status},
                str_tag("span.kind", "server"),
            ],
            "logs": [],
            "process": {"serviceName": self.self_service, "tags": []},
        }
        self.add([record], persist=False)
        self._self_traces.append(record["traceID"])
        while len(self._self_traces) > SELF_TRACE_LIMIT:  # polling must not grow memory without bound
            self._traces.pop(self._self_traces.popleft(), None)
