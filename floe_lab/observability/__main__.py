"""Process entry for the observability stand-ins: ``python -m floe_lab.observability SERVER [flags]``.

Why a process entry at all: the lab starts its servers as child processes so a test (or a person) can kill
and restart one and watch floe-agents notice. Each server prints exactly one line, ``READY <url> [k=v ...]``,
flushed once every port is listening; the first URL is the main API, the ``k=v`` pairs name the other ports.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m floe_lab.observability")
    servers = parser.add_subparsers(dest="server", required=True)

    jaeger = servers.add_parser("jaeger", help="Jaeger all-in-one: OTLP receivers + query API")
    jaeger.add_argument("--port", type=int, default=0, help="query API port (16686-like); 0 = OS-chosen")
    jaeger.add_argument("--otlp-http-port", type=int, default=0, help="OTLP/HTTP port (4318-like)")
    jaeger.add_argument("--otlp-grpc-port", type=int, default=0, help="OTLP/gRPC port (4317-like)")
    jaeger.add_argument("--no-grpc", action="store_true", help="do not start the OTLP/gRPC receiver")
    jaeger.add_argument("--admin-port", type=int, default=None, help="admin health port (14269-like)")
    jaeger.add_argument("--no-self-tracing", action="store_true", help="omit the jaeger-all-in-one service")
    jaeger.add_argument("--state", default=None, help="JSON file that keeps spans across restarts")

    marquez = servers.add_parser("marquez", help="Marquez: OpenLineage intake + lineage API")
    marquez.add_argument("--port", type=int, default=0, help="API port (5000-like); 0 = OS-chosen")
    marquez.add_argument("--admin-port", type=int, default=0, help="admin port (5001-like)")
    marquez.add_argument("--state", default=None, help="JSON file that keeps events across restarts")

    cube = servers.add_parser("cube", help="Cube: REST API (meta, load) and health probes")
    cube.add_argument("--port", type=int, default=0, help="API port (4000-like); 0 = OS-chosen")
    cube.add_argument("--model", default=None, help="cube model file (YAML or JSON)")
    cube.add_argument("--api-secret", default=None, help="JWT secret (default: $CUBEJS_API_SECRET)")
    cube.add_argument("--source-url", default=None, help="data source; /readyz is DOWN when unreachable")
    cube.add_argument(
        "--missing-table", action="append", default=[], help="table that /load reports as missing (repeatable)"
    )
    cube.add_argument("--dev-mode", action="store_true", help="accept requests without a token, like Cube's dev mode")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # Imported per server so that, e.g., a Marquez process never loads gRPC.
    from floe_lab.observability._serving import run_until_signalled  # noqa: PLC0415

    if args.server == "jaeger":
        from floe_lab.observability import jaeger  # noqa: PLC0415

        run_until_signalled(
            lambda: jaeger.run_jaeger(
                query_port=args.port,
                otlp_http_port=args.otlp_http_port,
                otlp_grpc_port=None if args.no_grpc else args.otlp_grpc_port,
                admin_port=args.admin_port,
                state_file=args.state,
                self_tracing=not args.no_self_tracing,
            ),
            jaeger.ready_line,
        )
    elif args.server == "marquez":
        from floe_lab.observability import marquez  # noqa: PLC0415

        run_until_signalled(
            lambda: marquez.run_marquez(port=args.port, admin_port=args.admin_port, state_file=args.state),
            marquez.ready_line,
        )
    else:
        from floe_lab.observability import cube as cube_server  # noqa: PLC0415

        secret = args.api_secret or os.environ.get("CUBEJS_API_SECRET")
        if not secret and not args.dev_mode:
            _parser().error("cube needs --api-secret or CUBEJS_API_SECRET (or --dev-mode)")
        run_until_signalled(
            lambda: cube_server.run_cube(
                port=args.port,
                api_secret=secret or "",
                model_file=args.model,
                source_url=args.source_url,
                missing_tables=args.missing_table,
                dev_mode=args.dev_mode,
            ),
            cube_server.ready_line,
        )


if __name__ == "__main__":
    main()
