"""Run the lab kubelet as its own process: ``python -m floe_lab.kubelet --api URL --state DIR --launchers M:A``.

Why a process: ``lab up`` and ``lab down`` are separate CLI invocations, so the node must outlive the one that
started it, like a real kubelet. It prints ``READY`` after its first successful sync (a parent waits for that
line), and on SIGTERM or SIGINT stops every process it started before exiting. ``--launchers`` names a
zero-argument callable returning the launcher table; the token defaults to ``$FLOE_LAB_KUBE_TOKEN``;
``--api-https``/``--ca-file`` say where pods reach the API (default: the lab's own, found in the state folder).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import cast

import anyio
import structlog

from floe_lab.kubelet.backoff import BACKOFF_BASE, BACKOFF_MAX
from floe_lab.kubelet.context import Launcher
from floe_lab.kubelet.kubelet import Kubelet


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m floe_lab.kubelet", description="The floe-agents lab's kubelet and workload controllers."
    )
    parser.add_argument("--api", required=True, help="API server URL, e.g. http://127.0.0.1:PORT")
    parser.add_argument(
        "--token", default=os.environ.get("FLOE_LAB_KUBE_TOKEN"), help="bearer token (default: $FLOE_LAB_KUBE_TOKEN)"
    )
    parser.add_argument("--state", required=True, help="the lab's state folder")
    parser.add_argument("--launchers", required=True, help="MODULE:ATTR, a callable returning the launcher table")
    parser.add_argument("--resync", type=float, default=2.0, help="longest time between syncs, seconds")
    parser.add_argument(
        "--api-https",
        help="the API's HTTPS URL pods are pointed at (default: the kube-apiserver the state folder records)",
    )
    parser.add_argument("--ca-file", type=Path, help="the CA of the API's certificate (default: <state>/pki/ca.crt)")
    parser.add_argument(
        "--backoff-base", type=float, default=BACKOFF_BASE, help="first restart back-off, seconds (the kubelet's 10)"
    )
    parser.add_argument(
        "--backoff-max", type=float, default=BACKOFF_MAX, help="restart back-off ceiling, seconds (the kubelet's 300)"
    )
    return parser.parse_args(argv)


def load_launchers(spec: str) -> Mapping[str, Launcher]:
    """Import ``MODULE:ATTR`` and call it (no arguments) for the launcher table."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"--launchers must be MODULE:ATTR, got {spec!r}")
    factory = cast(Callable[[], Mapping[str, Launcher]], getattr(importlib.import_module(module_name), attr))
    return factory()


async def _run(args: argparse.Namespace) -> None:
    launchers = load_launchers(args.launchers)
    kubelet = Kubelet(
        args.api,
        args.token,
        Path(args.state),
        launchers,
        resync=args.resync,
        backoff_base=args.backoff_base,
        backoff_max=args.backoff_max,
        api_https=args.api_https,
        ca_file=args.ca_file,
    )
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(kubelet.run, on_ready=lambda: print("READY", flush=True)))
            async for _ in signals:  # also before the first sync: a node that never got ready still stops
                tg.cancel_scope.cancel()
                break


def main(argv: list[str] | None = None) -> int:
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )
    anyio.run(_run, _arguments(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
