"""OTLP to Jaeger translation for the Jaeger stand-in: spans as Jaeger's data model, OTLP/JSON decoding.

Why it exists: floe-agents judges tracing by what Jaeger's query API answers, so spans must come out exactly
as Jaeger's OTLP translator makes them — IDs as zero-padded hex, times in microseconds, span kind, status and
instrumentation scope folded into tags, events as logs, links as FOLLOWS_FROM references. Both receivers (gRPC
and HTTP) share this, and OTLP/JSON needs its own decoding because its IDs are hex, not protobuf-JSON base64.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = ["display_trace_id", "normalise_trace_id", "otlp_json_to_request", "records_from_request", "str_tag"]

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


def str_tag(key: str, value: str) -> Tag:
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
                    tags.append(str_tag("otel.scope.name", scope.name))
                if scope.version:
                    tags.append(str_tag("otel.scope.version", scope.version))
                if span.kind in _KINDS:
                    tags.append(str_tag("span.kind", _KINDS[span.kind]))
                if span.status.code in _STATUS:
                    tags.append(str_tag("otel.status_code", _STATUS[span.status.code]))
                    if span.status.code == 2:
                        tags.append({"key": "error", "type": "bool", "value": True})
                if span.status.message:
                    tags.append(str_tag("otel.status_description", span.status.message))
                if span.trace_state:
                    tags.append(str_tag("w3c.tracestate", span.trace_state))
                logs = [
                    {
                        "timestamp": event.time_unix_nano // 1000,
                        "fields": [str_tag("event", event.name), *_tags(event.attributes)],
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
