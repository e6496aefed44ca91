"""Run the stand-in as its own process: ``python -m floe_lab.kube --port N --token T [--state FILE]``.

Why a separate process at all: demos and end-to-end tests want a server that outlives one event loop and is
reached only over the network, like a real cluster. It prints ``READY http://127.0.0.1:PORT`` once listening
(so a parent can wait for that line instead of polling) and stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import anyio

from floe_lab.kube.server import serve
from floe_lab.kube.state import load_manifests
from floe_lab.kube.store import KubeStore


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m floe_lab.kube", description="The floe-agents lab's Kubernetes API server stand-in."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback by default)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: the OS picks one)")
    parser.add_argument(
        "--token",
        default=os.environ.get("FLOE_LAB_KUBE_TOKEN"),
        help="bearer token clients must send (default: $FLOE_LAB_KUBE_TOKEN; none: no auth)",
    )
    parser.add_argument("--state", help="YAML/JSON manifests to load at start")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> None:
    store = KubeStore()
    if args.state:
        store.load(load_manifests(args.state))
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with serve(store, token=args.token, host=args.host, port=args.port) as url:
            print(f"READY {url}", flush=True)
            async for _ in signals:
                break


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    anyio.run(_run, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
