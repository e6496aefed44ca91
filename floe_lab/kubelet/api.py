"""The kubelet's door to the API server: the real ``kubernetes_asyncio`` client, spoken in plain JSON.

Why raw JSON rather than the client's models: a kubelet reads and writes whole objects (status with every
field, annotations, owner references) and must not lose fields the generated models do not know, nor pay for
deserialising every object on every resync. The generated API methods are still the ones called (URLs, auth,
query parameters are the client's), with ``_preload_content=False`` so the body comes back untouched.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from kubernetes_asyncio import client

__all__ = ["JsonObj", "KubeApi", "KubeError"]

JsonObj = dict[str, Any]

# plural -> (API group attribute, snake-case kind used in the generated method names)
_TYPES: dict[str, tuple[str, str]] = {
    "pods": ("core", "pod"),
    "services": ("core", "service"),
    "endpoints": ("core", "endpoints"),
    "secrets": ("core", "secret"),
    "configmaps": ("core", "config_map"),
    "events": ("core", "event"),
    "deployments": ("apps", "deployment"),
    "replicasets": ("apps", "replica_set"),
    "statefulsets": ("apps", "stateful_set"),
    "jobs": ("batch", "job"),
    "cronjobs": ("batch", "cron_job"),
    "serviceaccounts": ("core", "service_account"),
    "namespaces": ("core", "namespace"),
}
_CLUSTER_SCOPED = frozenset({"namespaces"})
_TIMEOUT = 15.0


class KubeError(Exception):
    """A non-2xx answer from the API server, with its ``Status`` reason and message."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.reason = str(body.get("reason", "")) if isinstance(body, dict) else ""
        self.message = str(body.get("message", body)) if isinstance(body, dict) else str(body)
        super().__init__(f"{status} {self.reason}: {self.message}")


class KubeApi:
    """JSON CRUD on the types the kubelet and its controllers touch, through one ``ApiClient``."""

    def __init__(self, api_client: Any) -> None:
        self._groups: dict[str, Any] = {
            "core": client.CoreV1Api(api_client),
            "apps": client.AppsV1Api(api_client),
            "batch": client.BatchV1Api(api_client),
        }

    def _method(self, plural: str, template: str) -> Any:
        group, snake = _TYPES[plural]
        if plural in _CLUSTER_SCOPED:
            template = template.replace("_for_all_namespaces", "")
        return getattr(self._groups[group], template.format(snake))

    @staticmethod
    async def _body(response: Any) -> Any:
        try:
            raw = await response.read()
        finally:
            response.release()
        data = json.loads(raw) if raw else {}
        if not 200 <= response.status <= 299:
            raise KubeError(response.status, data)
        return data

    async def list(self, plural: str) -> list[JsonObj]:
        """Every object of the type, in all namespaces, each with its ``kind`` and ``apiVersion`` filled in."""
        method = self._method(plural, "list_{}_for_all_namespaces")
        data = await self._body(await method(_preload_content=False, _request_timeout=_TIMEOUT))
        kind, api_version = str(data.get("kind", "")).removesuffix("List"), data.get("apiVersion")
        items: list[JsonObj] = data.get("items") or []
        for item in items:
            item.setdefault("kind", kind)
            item.setdefault("apiVersion", api_version)
        return items

    async def create(self, plural: str, namespace: str, body: JsonObj) -> JsonObj:
        method = self._method(plural, "create_namespaced_{}")
        created: JsonObj = await self._body(
            await method(namespace, body, _preload_content=False, _request_timeout=_TIMEOUT)
        )
        return created

    async def request_token(self, namespace: str, service_account: str, spec: JsonObj) -> JsonObj:
        """A TokenRequest (authentication.k8s.io/v1) for the ServiceAccount; the answer's ``status`` holds the token."""
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        method = self._groups["core"].create_namespaced_service_account_token
        answer: JsonObj = await self._body(
            await method(service_account, namespace, body, _preload_content=False, _request_timeout=_TIMEOUT)
        )
        return answer

    async def replace(self, plural: str, namespace: str, name: str, body: JsonObj) -> JsonObj:
        method = self._method(plural, "replace_namespaced_{}")
        result: JsonObj = await self._body(
            await method(name, namespace, body, _preload_content=False, _request_timeout=_TIMEOUT)
        )
        return result

    async def replace_status(self, plural: str, namespace: str, name: str, status: JsonObj) -> JsonObj:
        """PUT ``/status`` with ``status`` (no resourceVersion: the kubelet owns status, the write is unconditional)."""
        method = self._method(plural, "replace_namespaced_{}_status")
        body = {"metadata": {"name": name, "namespace": namespace}, "status": status}
        result: JsonObj = await self._body(
            await method(name, namespace, body, _preload_content=False, _request_timeout=_TIMEOUT)
        )
        return result

    async def patch(self, plural: str, namespace: str, name: str, body: JsonObj) -> JsonObj:
        """A JSON merge patch (RFC 7386): ``null`` deletes, objects merge, lists replace."""
        method = self._method(plural, "patch_namespaced_{}")
        result: JsonObj = await self._body(
            await method(
                name,
                namespace,
                body,
                _content_type="application/merge-patch+json",
                _preload_content=False,
                _request_timeout=_TIMEOUT,
            )
        )
        return result

    async def delete(
        self, plural: str, namespace: str, name: str, *, grace: int | None = None, propagation: str | None = None
    ) -> None:
        """Delete; a 404 (already gone) is not an error."""
        method = self._method(plural, "delete_namespaced_{}")
        kwargs: dict[str, Any] = {}
        if grace is not None:
            kwargs["grace_period_seconds"] = grace
        if propagation is not None:
            kwargs["propagation_policy"] = propagation
        try:
            await self._body(await method(name, namespace, _preload_content=False, _request_timeout=_TIMEOUT, **kwargs))
        except KubeError as exc:
            if exc.status != 404:
                raise

    @asynccontextmanager
    async def watch(self, plural: str, resource_version: str | None) -> AsyncIterator[AsyncIterator[bytes]]:
        """A watch stream (one JSON event per line) of the type in all namespaces."""
        method = self._method(plural, "list_{}_for_all_namespaces")
        kwargs: dict[str, Any] = {"watch": True, "timeout_seconds": 300, "_preload_content": False}
        if resource_version:
            kwargs["resource_version"] = resource_version
        response = await method(**kwargs)
        try:
            if not 200 <= response.status <= 299:
                raise KubeError(response.status, json.loads(await response.read() or b"{}"))
            yield response.content.__aiter__()
        finally:
            response.release()
            response.close()
