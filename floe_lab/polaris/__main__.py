"""Process entry: ``python -m floe_lab.polaris --port N --mgmt-port M --db-url URL ...``.

Why a process: the lab runs its servers as child processes so a test (or a person) can kill and restart the
catalog and watch floe-agents notice (and, with an in-memory-like sqlite file deleted, watch the warehouse
vanish). Prints exactly one ``READY http://127.0.0.1:N mgmt=http://127.0.0.1:M`` line, flushed, once both
ports listen; then Quarkus-style log lines on stdout (the "pod log"). SIGTERM/SIGINT stop it cleanly.
The database URL (with its password) comes from ``POLARIS_DB_URL`` in the lab, never the command line.
Static AWS keys come from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` as in the pod.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence

from floe_lab.polaris.config import PolarisConfig, parse_bootstrap
from floe_lab.polaris.server import StartupError, run_polaris


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m floe_lab.polaris", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="API port (8181-like); 0 = OS-chosen")
    parser.add_argument("--mgmt-port", type=int, default=0, help="management/health port (8182-like)")
    parser.add_argument(
        "--db-url",
        default=None,
        help="SQLAlchemy URL, e.g. postgresql+psycopg2://u:p@h:5432/db (else POLARIS_DB_URL, off `ps`)",
    )
    parser.add_argument("--services", default=None, help="JSON service table: the catalog pod's cluster DNS")
    parser.add_argument(
        "--bootstrap-credentials",
        default=None,
        help="REALM,CLIENT_ID,CLIENT_SECRET for the root principal (like POLARIS_BOOTSTRAP_CREDENTIALS)",
    )
    parser.add_argument("--region", default=None, help="default AWS region (else AWS_REGION, else us-east-1)")
    return parser


async def _serve(config: PolarisConfig) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with run_polaris(config, log_stream=sys.stdout) as polaris:
            print(f"READY {polaris.url} mgmt={polaris.mgmt_url}", flush=True)
            await stop.wait()
    except StartupError as exc:
        print(f"ERROR [io.quarkus.runtime.ApplicationLifecycleManager] Failed to start application: {exc}", flush=True)
        return 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    db_url = args.db_url or os.environ.get("POLARIS_DB_URL")
    if not db_url:
        parser.error("--db-url or POLARIS_DB_URL is required")
    overrides: dict[str, object] = {
        "port": args.port,
        "mgmt_port": args.mgmt_port,
        "services_file": args.services,
    }
    if args.bootstrap_credentials:
        overrides["bootstrap"] = parse_bootstrap(args.bootstrap_credentials)
    if args.region:
        overrides["aws_region"] = args.region
    return asyncio.run(_serve(PolarisConfig.from_env(db_url, overrides)))


if __name__ == "__main__":
    sys.exit(main())
