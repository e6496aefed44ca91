"""A Kubernetes API for the probe tests that read the cluster (kubernetes, endpoints, emitters): a fake API server
serving hand-written objects, the ProbeContext whose ``services.kube`` is a real client for it, and the object
builders (labelled metadata, a pod) those tests write their clusters with.

The lab's own Kubernetes stand-in (``floe_lab/kube``) is for the lab tests; these serve the states it does not
produce (crash loops, image pulls, RBAC, garbage objects).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from aiohttp import web
from kubernetes_asyncio import client

from floe_agents.config.platform import PlatformConfig
from floe_agents.config.targets import Targets
from floe_agents.context import KubeHandle, ProbeContext, Services
from floe_agents.resolve import resolvers_for
from tests.support.net import serve

NS = "floe"


@asynccontextmanager
async def fake_apiserver(
    objects: Mapping[str, list[dict[str, Any]]], status: Mapping[str, int] | None = None
) -> AsyncIterator[str]:
    """Serves ``objects[resource]`` as namespaced lists and each object by name, a 404 Status for a name it does not
    hold (``status[resource]`` answers that HTTP status instead)."""

    async def lister(request: web.Request) -> web.Response:
        res = request.match_info["res"]
        if status and res in status:
            return web.json_response({"kind": "Status", "message": f"{res} is forbidden"}, status=status[res])
        items = objects.get(res, [])
        if selector := request.query.get("labelSelector"):  # equality terms only, as the probes send them
            want = dict(term.split("=", 1) for term in selector.split(","))
            items = [o for o in items if all(_labels(o).get(k) == v for k, v in want.items())]
        return web.json_response({"kind": "List", "items": items})

    async def getter(request: web.Request) -> web.Response:
        res, name = request.match_info["res"], request.match_info["name"]
        if status and res in status:
            return web.json_response({"kind": "Status", "message": f"{res} is forbidden"}, status=status[res])
        found = next((o for o in objects.get(res, []) if (o.get("metadata") or {}).get("name") == name), None)
        if found is None:
            body = {"kind": "Status", "reason": "NotFound", "message": f'{res} "{name}" not found', "code": 404}
            return web.json_response(body, status=404)
        return web.json_response(found)

    async def log(request: web.Request) -> web.Response:
        return web.Response(text=f"log of {request.match_info['pod']}\nboom\n")

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/{ns}/pods/{pod}/log", log)
    app.router.add_get("/api/v1/namespaces/{ns}/{res}", lister)
    app.router.add_get("/api/v1/namespaces/{ns}/{res}/{name}", getter)
    app.router.add_get("/apis/{group}/{version}/namespaces/{ns}/{res}", lister)
    async with serve(app) as base:
        yield base


def _labels(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return labels if isinstance(labels, dict) else {}


@asynccontextmanager
async def kube_ctx(
    api_url: str | None,
    *,
    kube_error: str | None = None,
    components: Mapping[str, Any] | None = None,
    vantages: Mapping[str, Any] | None = None,
    platform: PlatformConfig | None = None,
    credentials: Mapping[str, str] | None = None,
) -> AsyncIterator[ProbeContext]:
    """A ProbeContext whose ``services.kube`` is a real ApiClient for ``api_url`` (None: no Kubernetes API)."""
    targets = Targets.model_validate(
        {
            "namespace": NS,
            "vantage": "local",
            "vantages": vantages or {"local": {"resolver": "system"}},
            "components": {"kubernetes": {}, **(components or {})},
            "credentials": dict(credentials or {}),
        }
    )
    configuration = client.Configuration()
    configuration.host = api_url or "http://unused"
    async with httpx.AsyncClient() as http, client.ApiClient(configuration) as api:
        services = Services(
            http=http,
            resolvers=resolvers_for(targets.vantages, targets.vantage),
            kube=KubeHandle.of(api if api_url else None, kube_error),
        )
        yield ProbeContext(component="kubernetes", check="kubernetes", targets=targets, services=services,
                           platform=platform)  # fmt: skip


def meta(name: str, component: str, **extra: Any) -> dict[str, Any]:
    """An object's metadata in namespace ``NS``, labelled as a floe-infra ``component``."""
    labels = {"app.kubernetes.io/instance": "floe-infra", "app.kubernetes.io/component": component}
    return {"name": name, "namespace": NS, "uid": f"uid-{name}", "labels": labels, **extra}


def pod(
    name: str,
    component: str,
    state: dict[str, Any],
    *,
    restarts: int = 0,
    phase: str = "Running",
    env: list[dict[str, Any]] | None = None,
    ready: bool = True,
    owner: str | None = None,
) -> dict[str, Any]:
    """A one-container pod in ``state`` (its last state an OOM kill), owned by Job ``owner`` if given."""
    owners = [{"kind": "Job", "name": owner, "uid": f"uid-{owner}"}] if owner else []
    return {
        "metadata": meta(name, component, ownerReferences=owners),
        "spec": {"containers": [{"name": "main", "image": "x", "env": env or []}]},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "main", "state": state, "restartCount": restarts,
                                   "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}],
        },
    }  # fmt: skip


__all__ = ["NS", "fake_apiserver", "kube_ctx", "meta", "pod"]
