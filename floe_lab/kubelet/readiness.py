"""Readiness of a running container: the launcher's ready checks, polled in the background.

Why not ``procs.start``'s own waiting: that gives up after a deadline and stops the process, which is right for
``lab up`` but not for a pod. A pod's container is *running* as soon as its process is, and *ready* only once
its checks pass — however long that takes, like a readiness probe that keeps failing. The sync loop never
waits for this; it reads the result.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from pathlib import Path

import anyio
import httpx

from floe_lab import procs

__all__ = ["wait_ready"]

_POLL = 0.1


async def _log_ready(path: Path, pattern: re.Pattern[str]) -> None:
    seen = ""
    offset = 0
    while True:
        with contextlib.suppress(OSError):
            data = await anyio.Path(path).read_bytes()
            if len(data) < offset:
                offset = 0
            seen = (seen + data[offset:].decode(errors="replace"))[-65536:]
            offset = len(data)
            if pattern.search(seen):
                return
        await anyio.sleep(_POLL)


async def _tcp_ready(check: procs.TcpReady) -> None:
    while True:
        with contextlib.suppress(OSError):
            await (await anyio.connect_tcp(check.host, check.port)).aclose()
            return
        await anyio.sleep(_POLL)


async def _http_ready(check: procs.HttpReady) -> None:
    async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
        while True:
            with contextlib.suppress(OSError, httpx.HTTPError):
                if (await client.get(check.url)).status_code < 500:
                    return
            await anyio.sleep(_POLL)


async def wait_ready(log_path: Path, checks: Sequence[procs.ReadyCheck]) -> None:
    """Return once every check passes (in order); never gives up on its own — cancel it instead."""
    for check in checks:
        if isinstance(check, procs.LogReady):
            await _log_ready(log_path, re.compile(check.pattern, re.MULTILINE))
        elif isinstance(check, procs.TcpReady):
            await _tcp_ready(check)
        else:
            await _http_ready(check)
