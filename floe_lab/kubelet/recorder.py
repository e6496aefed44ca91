"""Kubernetes Events for what the kubelet and its controllers did, deduplicated the way client-go does.

Why events: ``kubectl describe`` and every diagnosis of a stuck pod start from them (``Failed``, ``BackOff``,
``FailedMount``), and a real recorder does not write a new Event per retry: the same source, object, reason and
message bump ``count`` and ``lastTimestamp`` on one Event. Every repeat is counted, but the API write is folded
into at most one per second per Event, so a retry loop at lab speed does not flood the API.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from floe_lab.kubelet.api import JsonObj, KubeApi, KubeError
from floe_lab.kubelet.context import NODE_NAME

__all__ = ["EventRecorder", "now"]

_log = structlog.get_logger("floe_lab.kubelet")


def now() -> str:
    """An RFC 3339 timestamp at second precision, as ``metav1.Time`` serialises."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Seen:
    namespace: str
    name: str
    count: int
    written: float


class EventRecorder:
    """Writes ``v1`` Events through the API; one instance per kubelet (its dedupe memory lives here)."""

    def __init__(self, api: KubeApi, *, repeat_after: float = 1.0) -> None:
        self._api = api
        self._repeat_after = repeat_after
        self._seen: dict[tuple[str, ...], _Seen] = {}

    async def emit(
        self,
        obj: JsonObj,
        type_: str,
        reason: str,
        message: str,
        *,
        component: str = "kubelet",
        field_path: str | None = None,
    ) -> None:
        """Record an Event about ``obj``; errors are logged, never raised (an event must not break a sync)."""
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "default")
        key = (component, str(meta.get("uid")), field_path or "", type_, reason, message)
        seen = self._seen.get(key)
        stamp = now()
        try:
            if seen is not None:
                seen.count += 1  # every occurrence counts; the write of a burst is folded into the next one
                if time.monotonic() - seen.written < self._repeat_after:
                    return
                seen.written = time.monotonic()
                try:
                    await self._api.patch(
                        "events", seen.namespace, seen.name, {"count": seen.count, "lastTimestamp": stamp}
                    )
                except KubeError as exc:
                    if exc.status != 404:
                        raise
                else:
                    return
            event = self._event(
                obj,
                namespace,
                type_=type_,
                reason=reason,
                message=message,
                component=component,
                field_path=field_path,
                stamp=stamp,
            )
            created = await self._api.create("events", namespace, event)
            self._seen[key] = _Seen(namespace, str(created["metadata"]["name"]), 1, time.monotonic())
        except Exception as exc:  # events are best effort, as in client-go
            _log.warning("event not recorded", reason=reason, object=meta.get("name"), error=str(exc))

    @staticmethod
    def _event(
        obj: JsonObj,
        namespace: str,
        *,
        type_: str,
        reason: str,
        message: str,
        component: str,
        field_path: str | None,
        stamp: str,
    ) -> JsonObj:
        meta = obj.get("metadata") or {}
        involved: dict[str, Any] = {
            "kind": obj.get("kind"),
            "namespace": namespace,
            "name": meta.get("name"),
            "uid": meta.get("uid"),
            "apiVersion": obj.get("apiVersion"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        if field_path:
            involved["fieldPath"] = field_path
        host = {"host": NODE_NAME} if component == "kubelet" else {}
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta.get('name')}.{time.time_ns():x}", "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "count": 1,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "source": {"component": component, **host},
            "reportingComponent": component,
            "reportingInstance": NODE_NAME if component == "kubelet" else "",
        }

    def forget(self, uid: str) -> None:
        """Drop the dedupe memory about a deleted object."""
        for key in [k for k in self._seen if k[1] == uid]:
            del self._seen[key]
