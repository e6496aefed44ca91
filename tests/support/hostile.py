"""A hostile HTTP server on loopback for the bounds tests: it answers every request the same bad way and counts
the bytes it managed to send, so a test measures what a client read instead of timing it.

Modes: ``huge`` (a ``size``-byte body with no length, as fast as the client reads), ``gzip`` (a small gzip body
that decodes to ``size`` bytes), ``drip`` (a body one byte every ``interval`` seconds, ``size`` bytes in all),
``garbage`` (a 500 whose body is bytes with control characters and invalid UTF-8).
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

GARBAGE = bytes(range(256)) * 64 + b"\x1b[31mred\x1b[0m\x00\r\x07" * 1000


@dataclass
class Hostile:
    url: str
    sent: list[int] = field(default_factory=list)  # body bytes sent, one entry per request answered

    @property
    def most_sent(self) -> int:
        return max(self.sent, default=0)


def _answer(conn: socket.socket, mode: str, size: int, interval: float, stop: threading.Event) -> int:
    conn.settimeout(2.0)
    with contextlib.suppress(OSError):
        conn.recv(65536)
    sent = 0
    try:
        if mode == "huge":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
            chunk = b"[" + b"1," * 32767 + b"1"
            while sent < size and not stop.is_set():
                conn.sendall(chunk)
                sent += len(chunk)
        elif mode == "gzip":
            body = gzip.compress(b" " * size, compresslevel=9)
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            conn.sendall(head.encode() + body)
            sent = len(body)
        elif mode == "drip":
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
            conn.sendall(head.encode())
            while sent < size and not stop.wait(interval):
                conn.sendall(b" ")
                sent += 1
        else:
            head = f"HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\nContent-Length: {len(GARBAGE)}\r\n\r\n"
            conn.sendall(head.encode() + GARBAGE)
            sent = len(GARBAGE)
    except OSError:
        pass
    return sent


@contextlib.contextmanager
def hostile(mode: str, size: int = 0, interval: float = 0.2) -> Iterator[Hostile]:
    """A server on 127.0.0.1 in ``mode``; its URL and the bytes sent, known once the context is left."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    server = Hostile(f"http://127.0.0.1:{listener.getsockname()[1]}")
    threads: list[threading.Thread] = []

    def one(conn: socket.socket) -> None:
        with conn:
            server.sent.append(_answer(conn, mode, size, interval, stop))

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=one, args=(conn,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()
        for thread in threads:
            thread.join(10)
