"""The Jaeger stand-in's OTLP receivers: ``POST /v1/traces`` (4318-like) and the gRPC TraceService (4317-like).

Why: Floe's services export with the stock OpenTelemetry exporters, over gRPC (the platform's
``otlp_endpoint`` is the collector's 4317) or HTTP/protobuf; the stand-in must accept exactly what those send
(gzip included), answer with an ``ExportTraceServiceResponse`` (with ``partial_success`` for spans it had to
drop), and refuse what a collector refuses (415 for other media types, 400 for undecodable bodies).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from floe_lab.observability._serving import LOOPBACK
from floe_lab.observability.jaeger_model import otlp_json_to_request
from floe_lab.observability.jaeger_store import TraceStore

__all__ = ["create_otlp_http_app", "grpc_server"]

STORE_KEY = web.AppKey("otlp_trace_store", TraceStore)
_PROTOBUF = "application/x-protobuf"


async def _receive_otlp(request: web.Request) -> web.Response:
    content_type = request.content_type
    body = await request.read()
    try:
        if content_type == _PROTOBUF:
            message = ExportTraceServiceRequest()
            message.ParseFromString(body)
        elif content_type == "application/json":
            message = otlp_json_to_request(body)
        else:
            return web.Response(
                status=415, text=f"415 unsupported media type, supported: [application/json, {_PROTOBUF}]"
            )
    except (DecodeError, ValueError, json_format.ParseError) as exc:
        return web.Response(status=400, text=f"failed to unmarshal request body: {exc}")
    rejected = request.app[STORE_KEY].ingest(message)
    reply = ExportTraceServiceResponse()
    if rejected:
        reply.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=rejected, error_message="spans with invalid trace or span IDs")
        )
    if content_type == _PROTOBUF:
        return web.Response(body=reply.SerializeToString(), content_type=_PROTOBUF)
    return web.json_response(json_format.MessageToDict(reply))


def create_otlp_http_app(store: TraceStore) -> web.Application:
    """The collector's OTLP/HTTP receiver (4318): ``POST /v1/traces`` in protobuf or JSON."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STORE_KEY] = store
    app.router.add_post("/v1/traces", _receive_otlp)
    return app


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, store: TraceStore) -> None:
        self._store = store

    async def Export(  # noqa: N802 - the gRPC method name is fixed by the OTLP service definition
        self, request: ExportTraceServiceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ExportTraceServiceResponse:
        rejected = self._store.ingest(request)
        reply = ExportTraceServiceResponse()
        if rejected:
            reply.partial_success.rejected_spans = rejected
        return reply


@asynccontextmanager
async def grpc_server(store: TraceStore, port: int) -> AsyncIterator[str]:
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(store), server)  # type: ignore[no-untyped-call]
    bound = server.add_insecure_port(f"{LOOPBACK}:{port}")
    if not bound:
        raise OSError(f"cannot bind OTLP/gRPC on {LOOPBACK}:{port}")
    await server.start()
    try:
        yield f"http://{LOOPBACK}:{bound}"
    finally:
        await server.stop(grace=None)
