"""One heal at a time: a ``coordination.k8s.io/v1`` Lease in the namespace being healed.

Why a Lease and how: two heals changing the same platform at once would race (two migration Jobs, two catalog
updates). The cluster's own lock object is the Lease; we take it the way client-go's leader election does
(heal-notes §1): read it; if another holder's lease has not expired by our own observation, give up and say who
holds it; otherwise write our record carrying the resourceVersion we read, so of two racing writers exactly one
wins (the other gets 409 Conflict and reports the winner). A Lease does not fence — remediations stay idempotent.
The lease is released (holder cleared) when the heal ends, and expires on its own if the process dies.

Taking the Lease is a write the heal Role must grant (``get`` and ``update`` on it, ``create`` in the namespace).
When the API refuses it — asked first with a SelfSubjectAccessReview, or refused when tried — the lock is not
taken and says so (:data:`~floe_agents.heal.permissions.LEASE_REFUSED`): the heal then reports the Lease with what
it lacks, next to every step its Role does not allow, and changes nothing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from floe_agents.heal.model import NotPermitted
from floe_agents.heal.permissions import LEASE_REFUSED, denied
from floe_agents.remediations._kube_access import KubeNeed

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


def _lease_need(verb: str, namespace: str) -> KubeNeed:
    name = "" if verb == "create" else LEASE_NAME  # a create is never authorized by name
    return KubeNeed(verb=verb, group="coordination.k8s.io", resource="leases", namespace=namespace, name=name)


@asynccontextmanager
async def heal_lock(api: Any, namespace: str, identity: str | None = None) -> AsyncIterator[str]:
    """Hold the heal Lease while the block runs; :class:`LockHeldError` when someone else holds it. When the API
    does not allow the Lease, the block runs without it and :data:`LEASE_REFUSED` says what is lacking."""
    from kubernetes_asyncio import client  # noqa: PLC0415 - loaded only by a heal that writes
    from kubernetes_asyncio.client.exceptions import ApiException  # noqa: PLC0415

    me = identity or holder_identity()
    leases = client.CoordinationV1Api(api)
    where = f"{namespace}/{LEASE_NAME}"
    now = _now()
    spec = client.V1LeaseSpec(
        holder_identity=me, lease_duration_seconds=LEASE_SECONDS, acquire_time=now, renew_time=now
    )
    lacking = await denied(api, [_lease_need("get", namespace)])
    current = None
    if not lacking:
        try:
            current = await leases.read_namespaced_lease(LEASE_NAME, namespace)
        except ApiException as exc:
            if exc.status == 403:
                lacking = [_lease_need("get", namespace)]
            elif exc.status != 404:
                raise
    if not lacking:
        lacking = await denied(api, [_lease_need("create" if current is None else "update", namespace)])
    if not lacking:
        lacking = await _take(leases, namespace, spec, current, where)
    if lacking:
        refusal = NotPermitted(cause="", target=f"Lease {where}", verb="take", needs=tuple(n.text for n in lacking))
        token = LEASE_REFUSED.set(refusal)
        try:
            yield me
        finally:
            LEASE_REFUSED.reset(token)
        return
    try:
        yield me
    finally:
        await _release(leases, namespace, me)


async def _take(leases: Any, namespace: str, spec: Any, current: Any, where: str) -> list[KubeNeed]:
    """Write our record; [] when taken, the permission lacking when the API refused the write (403)."""
    from kubernetes_asyncio import client  # noqa: PLC0415
    from kubernetes_asyncio.client.exceptions import ApiException  # noqa: PLC0415

    now, me = spec.acquire_time, spec.holder_identity
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
        if exc.status == 403:
            return [_lease_need("create" if current is None else "update", namespace)]
        if exc.status != 409:
            raise
        winner = await leases.read_namespaced_lease(LEASE_NAME, namespace)
        won = winner.spec or client.V1LeaseSpec()
        raise LockHeldError(won.holder_identity or "another heal", _when(won.acquire_time), where) from None
    return []


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
