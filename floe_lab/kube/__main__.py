"""Run the stand-in as its own process: ``python -m floe_lab.kube --port N --token T [--state FILE]``, and with
``--secure-port S --tls-cert-file CRT --tls-private-key-file KEY`` an HTTPS listener too (the real apiserver's flags).

Why a separate process at all: demos and end-to-end tests want a server that outlives one event loop and is
reached only over the network, like a real cluster. It prints ``READY http://127.0.0.1:PORT`` once listening
(``READY http://127.0.0.1:PORT https=https://127.0.0.1:S`` with TLS), so a parent can wait for that line instead of
polling, and stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import anyio

from floe_lab.kube.server import serve_endpoints, serving_context
from floe_lab.kube.state import load_manifests
from floe_lab.kube.store import KubeStore


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m floe_lab.kube", description="The floe-agents lab's Kubernetes API server stand-in."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback by default)")
    parser.add_argument("--port", type=int, default=0, help="plain-HTTP port to bind (0: the OS picks one)")
    parser.add_argument(
        "--token",
        default=os.environ.get("FLOE_LAB_KUBE_TOKEN"),
        help="bearer token clients must send (default: $FLOE_LAB_KUBE_TOKEN; none: no auth)",
    )
    parser.add_argument("--state", help="YAML/JSON manifests to load at start")
    parser.add_argument("--secure-port", type=int, help="also serve HTTPS on this port (0: the OS picks one)")
    parser.add_argument("--tls-cert-file", help="PEM serving certificate (chain) for --secure-port")
    parser.add_argument("--tls-private-key-file", help="PEM private key of --tls-cert-file")
    args = parser.parse_args(argv)
    if args.secure_port is not None and not (args.tls_cert_file and args.tls_private_key_file):
        parser.error("--secure-port needs --tls-cert-file and --tls-private-key-file")
    return args


async def _run(args: argparse.Namespace) -> None:
    store = KubeStore()
    if args.state:
        store.load(load_manifests(args.state))
    tls = None if args.secure_port is None else serving_context(args.tls_cert_file, args.tls_private_key_file)
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async with serve_endpoints(
            store, token=args.token, host=args.host, port=args.port, tls=tls, secure_port=args.secure_port or 0
        ) as endpoints:
            secure = f" https={endpoints.https}" if endpoints.https else ""
            print(f"READY {endpoints.http}{secure}", flush=True)
            async for _ in signals:
                break


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    anyio.run(_run, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
