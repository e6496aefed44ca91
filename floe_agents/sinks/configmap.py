"""The last N reports in a ConfigMap (``floe-agents-report``): what a CronJob's runs leave where ``kubectl`` sees them.

Keys: ``report-<UTC time>.json`` per run (``heal-...`` for heal), and ``report-latest.json`` / ``report-latest.md``.
The newest ``keep`` runs per command stay; older ones, and then the oldest of any command, are dropped until the
ConfigMap fits the API server's limit (1 MiB of keys and values, :data:`LIMIT_BYTES`). The ConfigMap is created,
or patched with a JSON merge patch carrying the resourceVersion read (a concurrent writer makes it 409: read again,
at most :data:`ATTEMPTS` times). It talks to the API with the run's own client settings
(:func:`floe_agents.kube.open_kube`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from floe_agents.kube import KubeUnavailableError, open_kube
from floe_agents.sinks.base import Rendered, SinkContext, SinkError, entry_names
from floe_agents.sinks.spec import SinkSpec

__all__ = ["ATTEMPTS", "LIMIT_BYTES", "ConfigMapSink", "fit"]

LIMIT_BYTES = 1024 * 1024  # the API server's cap on a ConfigMap's data (keys and values)
ATTEMPTS = 3
_HISTORY = re.compile(r"^(report|heal)-\d{8}T\d{6}\.\d{3}Z\.json$")


def _size(data: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in data.items())


def fit(existing: dict[str, str], report: Rendered, keep: int) -> dict[str, str]:
    """The ConfigMap's data after this report: its entries added, history past ``keep`` for its command dropped,
    then the oldest history entries (any command) until it fits; SinkError when this report alone cannot fit."""
    entry, latest_json, latest_md = entry_names(report)
    data = {**existing, entry: report.json, latest_json: report.json, latest_md: report.markdown}
    mine = sorted(k for k in data if _HISTORY.match(k) and k.startswith(f"{report.kind}-"))
    for old in mine[: max(0, len(mine) - keep)]:
        del data[old]
    history = sorted((k for k in data if _HISTORY.match(k) and k != entry), key=lambda k: k.split("-", 1)[1])
    while _size(data) > LIMIT_BYTES and history:
        del data[history.pop(0)]
    if _size(data) > LIMIT_BYTES:
        raise SinkError(f"the report needs {_size(data)} bytes with the ConfigMap's other keys (limit {LIMIT_BYTES})")
    return data


@dataclass(frozen=True)
class ConfigMapSink:
    spec: SinkSpec
    ctx: SinkContext

    async def write(self, report: Rendered) -> str:
        from kubernetes_asyncio.client.exceptions import ApiException  # noqa: PLC0415 - only a ConfigMap sink loads it

        namespace = self.spec.namespace or self.ctx.targets.namespace
        if self.ctx.targets.kubernetes.mode == "none":
            raise SinkError("no Kubernetes API configured (kubernetes.mode: none in the targets file)")
        try:
            async with open_kube(self.ctx.targets.kubernetes) as api:
                for attempt in range(1, ATTEMPTS + 1):
                    try:
                        await self._write_once(api, namespace, report)
                        break
                    except ApiException as exc:
                        if exc.status != 409 or attempt == ATTEMPTS:
                            raise SinkError(_api_reason(exc)) from None
        except KubeUnavailableError as exc:
            raise SinkError(str(exc)) from None
        except (OSError, TimeoutError) as exc:  # the API server cannot be reached
            raise SinkError(f"cannot reach the Kubernetes API: {type(exc).__name__}: {exc}") from None
        return f"{self.spec.describe(namespace)} ({entry_names(report)[0]})"

    async def _write_once(self, api: Any, namespace: str, report: Rendered) -> None:
        from kubernetes_asyncio import client  # noqa: PLC0415
        from kubernetes_asyncio.client.exceptions import ApiException  # noqa: PLC0415

        core: Any = client.CoreV1Api(api)
        name = self.spec.target
        try:
            current = await core.read_namespaced_config_map(name, namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            meta = {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "floe-agents"}}
            data = fit({}, report, self.spec.keep)
            await core.create_namespaced_config_map(namespace, {"apiVersion": "v1", "kind": "ConfigMap",
                                                                "metadata": meta, "data": data})  # fmt: skip
            return
        existing = dict(current.data or {})
        data = fit(existing, report, self.spec.keep)
        changes: dict[str, str | None] = {k: v for k, v in data.items() if existing.get(k) != v}
        changes.update({k: None for k in existing if k not in data})  # a merge patch removes a key set to null
        patch = {"metadata": {"resourceVersion": current.metadata.resource_version}, "data": changes}
        await core.patch_namespaced_config_map(name, namespace, patch, _content_type="application/merge-patch+json")


def _api_reason(exc: Any) -> str:
    """The API server's own message (a Status body) when it sent one, else the HTTP status and reason."""
    import json  # noqa: PLC0415

    try:
        message = json.loads(exc.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return f"Kubernetes API {exc.status}: {message or exc.reason}"
