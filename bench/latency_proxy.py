"""A TCP proxy that adds a fixed one-way delay to every chunk, both ways: network latency for a loopback lab.

The lab answers on loopback in microseconds, so there the probes are CPU-bound and running them concurrently
cannot beat running them one after another. A real cluster reached over NodePorts or a VPN has milliseconds of
round-trip time on every exchange, which is what concurrency hides. This proxy puts that latency back, pipelined
(each chunk is delivered ``delay`` after it was read, in order, without waiting for the previous one), in its own
process so its work is not counted against the investigation's event loop.

Run: python -m bench.latency_proxy --delay-ms 5 LISTEN_PORT:UPSTREAM_PORT [...]; prints READY when listening.
"""

from __future__ import annotations

import argparse
import math
import sys
from functools import partial

import anyio
from anyio.abc import SocketStream
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream


async def _reader(src: SocketStream, out: MemoryObjectSendStream[tuple[float, bytes]], delay: float) -> None:
    async with out:
        try:
            async for chunk in src:
                await out.send((anyio.current_time() + delay, chunk))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass


async def _writer(dst: SocketStream, inbox: MemoryObjectReceiveStream[tuple[float, bytes]]) -> None:
    async with inbox:
        try:
            async for due, chunk in inbox:
                await anyio.sleep_until(due)
                await dst.send(chunk)
            await dst.send_eof()
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass


async def _handle(upstream_port: int, delay: float, client: SocketStream) -> None:
    async with client:
        try:
            upstream = await anyio.connect_tcp("127.0.0.1", upstream_port)
        except OSError:
            return
        async with upstream, anyio.create_task_group() as tg:
            for src, dst in ((client, upstream), (upstream, client)):
                send, receive = anyio.create_memory_object_stream[tuple[float, bytes]](math.inf)
                tg.start_soon(_reader, src, send, delay)
                tg.start_soon(_writer, dst, receive)


async def serve(pairs: list[tuple[int, int]], delay: float) -> None:
    async with anyio.create_task_group() as tg:
        for listen, upstream in pairs:
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=listen)
            tg.start_soon(listener.serve, partial(_handle, upstream, delay))
        print("READY", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay-ms", type=float, required=True, help="one-way delay added to every chunk")
    parser.add_argument("pairs", nargs="+", help="LISTEN_PORT:UPSTREAM_PORT")
    args = parser.parse_args()
    pairs = [(int(a), int(b)) for a, b in (p.split(":") for p in args.pairs)]
    try:
        anyio.run(serve, pairs, args.delay_ms / 1000)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
