"""The Polaris stand-in as the lab runs it: a child process that prints ``READY`` and stops on SIGTERM.

This pins the process contract the lab's supervisor relies on (one flushed ``READY http://127.0.0.1:N mgmt=...``
line, both ports serving, a clean exit on SIGTERM, a non-zero exit when the database is unreachable) and that
the "pod log" on stdout carries Polaris-style access lines.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.net import closed_port
from tests.support.polaris import CLIENT_ID, CLIENT_SECRET, PolarisS3

READY = re.compile(r"^READY (http://127\.0\.0\.1:\d+) mgmt=(http://127\.0\.0\.1:\d+)$", re.MULTILINE)


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "floe_lab.polaris", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )


def _wait_for(log: Path, proc: subprocess.Popen[bytes], pattern: re.Pattern[str], timeout: float = 30) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.search(log.read_text())
        if found:
            return found
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"no {pattern.pattern!r} in output:\n{log.read_text()}")


def test_process_serves_and_stops_on_sigterm(polaris_s3: PolarisS3, tmp_path: Path) -> None:
    log = tmp_path / "polaris.log"
    proc = _start(
        [
            "--db-url", f"sqlite:///{tmp_path / 'polaris.db'}",
            "--services", str(polaris_s3.services_file),
            "--bootstrap-credentials", f"POLARIS,{CLIENT_ID},{CLIENT_SECRET}",
        ],
        log,
    )  # fmt: skip
    try:
        ready = _wait_for(log, proc, READY)
        api, mgmt = ready.group(1), ready.group(2)
        assert httpx.get(f"{mgmt}/q/health/ready").json()["status"] == "UP"
        token = httpx.post(
            f"{api}/api/catalog/v1/oauth/tokens",
            data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                  "scope": "PRINCIPAL_ROLE:ALL"},
        )  # fmt: skip
        assert token.status_code == 200
        missing = httpx.get(
            f"{api}/api/catalog/v1/config",
            params={"warehouse": "demo_catalog"},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert missing.status_code == 404
        _wait_for(log, proc, re.compile(r'"GET /api/catalog/v1/config\?warehouse=demo_catalog HTTP/1\.1" 404'))
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
    assert code == 0
    assert log.read_text().count("READY ") == 1


def test_process_fails_without_its_database(tmp_path: Path) -> None:
    log = tmp_path / "polaris.log"
    proc = _start(["--db-url", f"postgresql+psycopg2://polaris:x@127.0.0.1:{closed_port()}/polaris"], log)
    assert proc.wait(timeout=120) == 1  # its DB retries take longer on a busy machine
    assert "Failed to start application: persistence database unreachable" in log.read_text()
    assert "READY" not in log.read_text()


@pytest.mark.parametrize("bad", ["POLARIS,only_id", "POLARIS,,secret"])
def test_bad_bootstrap_credentials_are_rejected(bad: str) -> None:
    from floe_lab.polaris import parse_bootstrap  # noqa: PLC0415

    with pytest.raises(ValueError, match="REALM,CLIENT_ID,CLIENT_SECRET"):
        parse_bootstrap(bad)
