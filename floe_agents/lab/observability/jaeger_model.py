"""The Jaeger stand-in's span store: OTLP in, Jaeger's query-API JSON out.

Why it exists: floe-agents judges tracing by what Jaeger's query API answers (which services exist, whether a
trace's spans hang together), so the stand-in must turn real OTLP exports into the very JSON Jaeger serves —
IDs as zero-padded hex, times in microseconds, span kind and status folded into tags the way Jaeger's OTLP
translator does, processes deduplicated per trace as ``p1``, ``p2``... Keeping that translation here, apart
from the HTTP and gRPC plumbing, lets both receivers share it and lets it be tested on its own.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from floe_agents.lab.observability._serving import JsonStateFile

__all__ = ["SELF_SERVICE", "TraceQuery", "TraceStore", "otlp_json_to_request"]

SELF_SERVICE = "jaeger-all-in-one"
# What the OTLP-to-Jaeger translator calls a resource that has no service.name.
NO_SERVICE_NAME = "OTLPResourceNoServiceName"
_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUS = {1: "OK", 2: "ERROR"}

Tag = dict[str, Any]
SpanRecord = dict[str, Any]


def _plain(value: AnyValue) -> Any:
    """An AnyValue as plain JSON data (used for arrays and maps, which Jaeger flattens to a JSON string)."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_plain(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, kind) if kind else None


def _tag(key: str, value: AnyValue) -> Tag:
    kind = value.WhichOneof("value")
    if kind == "bool_value":
        return {"key": key, "type": "bool", "value": value.bool_value}
    if kind == "int_value":
        return {"key": key, "type": "int64", "value": value.int_value}
    if kind == "double_value":
        return {"key": key, "type": "float64", "value": value.double_value}
    if kind == "bytes_value":
        return {"key": key, "type": "binary", "value": base64.b64encode(value.bytes_value).decode()}
    if kind in ("array_value", "kvlist_value"):
        return {"key": key, "type": "string", "value": json.dumps(_plain(value), separators=(",", ":"))}
    return {"key": key, "type": "string", "value": value.string_value}


def _tags(attributes: Iterable[KeyValue]) -> list[Tag]:
    return [_tag(kv.key, kv.value) for kv in attributes]


def _str_tag(key: str, value: str) -> Tag:
    return {"key": key, "type": "string", "value": value}


def normalise_trace_id(text: str) -> str | None:
    """A trace ID in any hex form Jaeger accepts, as 32 lowercase hex digits; ``None`` if it is not one."""
    try:
        number = int(text, 16)
    except ValueError:
        return None
    return f"{number:032x}" if 0 <= number < 1 << 128 and len(text) <= 32 else None


def display_trace_id(full: str) -> str:
    """Jaeger prints a 128-bit ID with a zero high half as 16 hex digits, otherwise as 32."""
    return full[16:] if full[:16] == "0" * 16 else full


def records_from_request(request: ExportTraceServiceRequest) -> tuple[list[SpanRecord], int]:
    """Jaeger-model span records from one OTLP export, and how many spans were rejected (bad IDs)."""
    records: list[SpanRecord] = []
    rejected = 0
    for resource_spans in request.resource_spans:
        service = NO_SERVICE_NAME
        process_tags: list[Tag] = []
        for kv in resource_spans.resource.attributes:
            if kv.key == "service.name" and kv.value.string_value:
                service = kv.value.string_value
            else:
                process_tags.append(_tag(kv.key, kv.value))
        process = {"serviceName": service, "tags": process_tags}
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            for span in scope_spans.spans:
                if len(span.trace_id) != 16 or len(span.span_id) != 8 or not any(span.trace_id):
                    rejected += 1
                    continue
                trace_id = span.trace_id.hex()
                references = []
                parent = span.parent_span_id.hex() if len(span.parent_span_id) == 8 else ""
                if parent:
                    references.append({"refType": "CHILD_OF", "traceID": trace_id, "spanID": parent})
                for link in span.links:
                    if len(link.trace_id) == 16 and len(link.span_id) == 8:
                        references.append(
                            {
                                "refType": "FOLLOWS_FROM",
                                "traceID": link.trace_id.hex(),
                                "spanID": link.span_id.hex(),
                            }
                        )
                tags = _tags(span.attributes)
                if scope.name:
                    tags.append(_str_tag("otel.scope.name", scope.name))
                if scope.version:
                    tags.append(_str_tag("otel.scope.version", scope.version))
                if span.kind in _KINDS:
                    tags.append(_str_tag("span.kind", _KINDS[span.kind]))
                if span.status.code in _STATUS:
                    tags.append(_str_tag("otel.status_code", _STATUS[span.status.code]))
                    if span.status.code == 2:
                        tags.append({"key": "error", "type": "bool", "value": True})
                if span.status.message:
                    tags.append(_str_tag("otel.status_description", span.status.message))
                if span.trace_state:
                    tags.append(_str_tag("w3c.tracestate", span.trace_state))
                logs = [
                    {
                        "timestamp": event.time_unix_nano // 1000,
                        "fields": [_str_tag("event", event.name), *_tags(event.attributes)],
                    }
                    for event in span.events
                ]
                records.append(
                    {
                        "traceID": trace_id,
                        "spanID": span.span_id.hex(),
                        "parentSpanID": parent,
                        "flags": (span.flags & 0xFF) or 1,
                        "operationName": span.name,
                        "references": references,
                        "startTime": span.start_time_unix_nano // 1000,
                        "duration": max(0, span.end_time_unix_nano - span.start_time_unix_nano) // 1000,
                        "tags": tags,
                        "logs": logs,
                        "process": process,
                    }
                )
    return records, rejected


def otlp_json_to_request(body: bytes) -> ExportTraceServiceRequest:
    """Parse OTLP/JSON, whose IDs are hex (not protobuf-JSON's base64). Raises ``ValueError`` if malformed."""
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("OTLP/JSON body must be an object")  # noqa: TRY004 - surfaced as HTTP 400

    def fix(holder: dict[str, Any], key: str) -> None:
        if isinstance(holder.get(key), str) and holder[key]:
            holder[key] = base64.b64encode(bytes.fromhex(holder[key])).decode()

    for resource_spans in document.get("resourceSpans") or []:
        for scope_spans in resource_spans.get("scopeSpans") or []:
            for span in scope_spans.get("spans") or []:
                for key in ("traceId", "spanId", "parentSpanId"):
                    fix(span, key)
                for link in span.get("links") or []:
                    fix(link, "traceId")
                    fix(link, "spanId")
    return json_format.ParseDict(document, ExportTraceServiceRequest(), ignore_unknown_fields=True)


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
                *(_str_tag(k, v) for k, v in tags.items()),
                {"key": "http.status_code", "type": "int64", "value": status},
                _str_tag("span.kind", "server"),
            ],
            "logs": [],
            "process": {"serviceName": self.self_service, "tags": []},
        }
        self.add([record], persist=False)
