"""Plumbing shared by the observability stand-ins: loopback listeners, a JSON state file, a process runner.

Why a module of its own: the three stand-ins must start the same way (bind 127.0.0.1 first so the OS-chosen
port is known before anything is printed, print exactly one ``READY`` line, stop cleanly on SIGTERM) and
persist the same way (one JSON file, replaced atomically so a killed process never leaves half a file). Doing
that once keeps the servers themselves about their wire protocols.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

__all__ = ["LOOPBACK", "JsonStateFile", "bind_loopback", "run_until_signalled", "serve_app"]

LOOPBACK = "127.0.0.1"

_T = TypeVar("_T")


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening-ready TCP socket on 127.0.0.1; ``port=0`` lets the OS choose."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
    except OSError:
        sock.close()
        raise
    return sock


@asynccontextmanager
async def serve_app(app: web.Application, port: int = 0) -> AsyncIterator[str]:
    """Serve ``app`` on loopback for the duration of the block; yields its base URL (no trailing slash)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    sock: socket.socket | None = None
    try:
        sock = bind_loopback(port)
        site = web.SockSite(runner, sock)
        await site.start()
        yield f"http://{LOOPBACK}:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
        if sock is not None:
            sock.close()


class JsonStateFile:
    """One JSON document on disk, written atomically (temp file + rename) so a crash never corrupts it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> Any:
        """The stored document, or ``None`` when the file does not exist yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return json.loads(text)

    def save(self, document: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, separators=(",", ":"))
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise


def run_until_signalled(
    context: Callable[[], AbstractAsyncContextManager[_T]], ready_line: Callable[[_T], str]
) -> None:
    """Process entry: enter ``context``, print ``READY ...`` (flushed), then wait for SIGTERM/SIGINT."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with context() as value:
            sys.stdout.write(ready_line(value) + "\n")
            sys.stdout.flush()
            await stop.wait()

    asyncio.run(main())
