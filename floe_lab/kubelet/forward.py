"""A TCP relay from a workload's ports to the ports its serving pod really listens on: kube-proxy in miniature.

Why: in the lab every pod shares 127.0.0.1, and a workload's ports (``ports.json``) are what its Service routes to
and what the lab's targets call, as a Service's NodePort would be on a cluster. A rollout starts the new pod
beside the old one, on ports of its own; once the old pod is gone, the workload's ports must reach the new one —
which is what kube-proxy does for a Service whose endpoint changed. The relay runs in the kubelet, copies bytes
both ways (half-closes passed on), and a connection the pod refuses is closed, as a dead endpoint's would be.
The same relay serves each Service's ClusterIP and port (:mod:`floe_lab.kubelet.clusterips`), through
:func:`relay_address`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from functools import partial

import anyio
from anyio.abc import ByteStream, SocketStream, TaskGroup

__all__ = ["Address", "relay", "relay_address"]

Address = tuple[str, int]  # (host, port)

_RETRY = 0.2


async def _pipe(source: ByteStream, sink: ByteStream) -> None:
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        async for chunk in source:
            await sink.send(chunk)
        await sink.send_eof()


async def _connection(target: Address, client: SocketStream) -> None:
    async with client:
        try:
            upstream = await anyio.connect_tcp(*target)
        except OSError:
            return
        async with upstream, anyio.create_task_group() as tg:
            tg.start_soon(_pipe, client, upstream)
            tg.start_soon(_pipe, upstream, client)


async def relay_address(
    listen: Address,
    target: Address,
    *,
    on_bind_error: Callable[[OSError], None] | None = None,
    tg: TaskGroup | None = None,
) -> None:
    """Accept on ``listen`` and relay every connection to ``target``, until cancelled. A ``listen`` that cannot be
    bound yet is retried (``on_bind_error`` hears why): whoever had it may still be letting go of it. Connections
    run in ``tg`` when given (they then outlive the listener), else they end with it."""
    while True:
        try:
            listener = await anyio.create_tcp_listener(local_host=listen[0], local_port=listen[1])
        except OSError as exc:
            if on_bind_error is not None:
                on_bind_error(exc)
            await anyio.sleep(_RETRY)
            continue
        async with listener:
            await listener.serve(partial(_connection, target), task_group=tg)


async def relay(ports: Mapping[str, int], targets: Mapping[str, int]) -> None:
    """Relay each of ``ports`` to the same-named port of ``targets``, until cancelled."""
    async with anyio.create_task_group() as tg:
        for name, port in ports.items():
            if name in targets and targets[name] != port:
                tg.start_soon(relay_address, ("127.0.0.1", port), ("127.0.0.1", targets[name]))
