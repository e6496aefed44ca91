"""One heal at a time: a ``coordination.k8s.io/v1`` Lease in the namespace being healed.

Why a Lease and how: two heals changing the same platform at once would race (two migration Jobs, two catalog
updates). The cluster's own lock object is the Lease; we take it the way client-go's leader election does
(heal-notes §1): read it; if another holder's lease has not expired by our own observation, give up and say who
holds it; otherwise write our record carrying the resourceVersion we read, so of two racing writers exactly one
wins (the other gets 409 Conflict and reports the winner). A Lease does not fence — remediations stay idempotent.
The lease is released (holder cleared) when the heal ends, and expires on its own if the process dies.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["LEASE_NAME", "LockHeldError", "heal_lock", "holder_identity"]

LEASE_NAME = "floe-agents-heal"
LEASE_SECONDS = 600


class LockHeldError(Exception):
    def __init__(self, holder: str, since: str | None, lease: str) -> None:
        self.holder = holder
        super().__init__(f"another heal holds Lease {lease}: {holder}" + (f" (since {since})" if since else ""))


def holder_identity() -> str:
    return f"floe-agents@{socket.gethostname()}/{os.getpid()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _expired(spec: Any, now: datetime) -> bool:
    renewed = spec.renew_time or spec.acquire_time
    if not spec.holder_identity or renewed is None:
        return True
    duration = spec.lease_duration_seconds or LEASE_SECONDS
    return bool(renewed + timedelta(seconds=duration) < now)


@asynccontextmanager
async def heal_lock(api: Any, namespace: str, identity: str | None = None) -> AsyncIterator[str]:
    """Hold the heal Lease while the block runs; :class:`LockHeldError` when someone else holds it."""
    from kubernetes_asyncio import client  # noqa: PLC0415 - loaded only by a heal that writes
    from kubernetes_asyncio.client.exceptions import ApiException  # noqa: PLC0415

    me = identity or holder_identity()
    leases = client.CoordinationV1Api(api)
    where = f"{namespace}/{LEASE_NAME}"
    now = _now()
    spec = client.V1LeaseSpec(
        holder_identity=me, lease_duration_seconds=LEASE_SECONDS, acquire_time=now, renew_time=now
    )
    try:
        current = await leases.read_namespaced_lease(LEASE_NAME, namespace)
    except ApiException as exc:
        if exc.status != 404:
            raise
        current = None
    try:
        if current is None:
            body = client.V1Lease(metadata=client.V1ObjectMeta(name=LEASE_NAME, namespace=namespace), spec=spec)
            await leases.create_namespaced_lease(namespace, body)
        else:
            held = current.spec or client.V1LeaseSpec()
            if held.holder_identity and held.holder_identity != me and not _expired(held, now):
                raise LockHeldError(held.holder_identity, _when(held.acquire_time), where)
            spec.lease_transitions = (held.lease_transitions or 0) + (1 if held.holder_identity != me else 0)
            current.spec = spec  # carries the resourceVersion we read: a racing writer gets 409
            await leases.replace_namespaced_lease(LEASE_NAME, namespace, current)
    except ApiException as exc:
        if exc.status != 409:
            raise
        winner = await leases.read_namespaced_lease(LEASE_NAME, namespace)
        won = winner.spec or client.V1LeaseSpec()
        raise LockHeldError(won.holder_identity or "another heal", _when(won.acquire_time), where) from None
    try:
        yield me
    finally:
        await _release(leases, namespace, me)


async def _release(leases: Any, namespace: str, me: str) -> None:
    from kubernetes_asyncio.client.exceptions import ApiException  # noqa: PLC0415

    try:
        current = await leases.read_namespaced_lease(LEASE_NAME, namespace)
        if current.spec is None or current.spec.holder_identity != me:
            return
        current.spec.holder_identity = None
        current.spec.renew_time = None
        await leases.replace_namespaced_lease(LEASE_NAME, namespace, current)
    except ApiException:
        return  # it expires on its own


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None
