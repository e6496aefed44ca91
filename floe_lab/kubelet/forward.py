"""A TCP relay from a workload's ports to the ports its serving pod really listens on: kube-proxy in miniature.

Why: in the lab every pod shares 127.0.0.1, and a workload's ports (``ports.json``) are what its Service routes to
and what the lab's targets call, as a Service's NodePort would be on a cluster. A rollout starts the new pod
beside the old one, on ports of its own; once the old pod is gone, the workload's ports must reach the new one —
which is what kube-proxy does for a Service whose endpoint changed. The relay runs in the kubelet, copies bytes
both ways (half-closes passed on), and a connection the pod refuses is closed, as a dead endpoint's would be.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from functools import partial

import anyio
from anyio.abc import ByteStream, SocketStream

__all__ = ["relay"]

_RETRY = 0.2


async def _pipe(source: ByteStream, sink: ByteStream) -> None:
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        async for chunk in source:
            await sink.send(chunk)
        await sink.send_eof()


async def _connection(target: int, client: SocketStream) -> None:
    async with client:
        try:
            upstream = await anyio.connect_tcp("127.0.0.1", target)
        except OSError:
            return
        async with upstream, anyio.create_task_group() as tg:
            tg.start_soon(_pipe, client, upstream)
            tg.start_soon(_pipe, upstream, client)


async def _relay_port(port: int, target: int) -> None:
    while True:  # the pod that had the port may still be letting go of it
        try:
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port)
        except OSError:
            await anyio.sleep(_RETRY)
            continue
        async with listener:
            await listener.serve(partial(_connection, target))


async def relay(ports: Mapping[str, int], targets: Mapping[str, int]) -> None:
    """Relay each of ``ports`` to the same-named port of ``targets``, until cancelled."""
    async with anyio.create_task_group() as tg:
        for name, port in ports.items():
            if name in targets and targets[name] != port:
                tg.start_soon(_relay_port, port, targets[name])
