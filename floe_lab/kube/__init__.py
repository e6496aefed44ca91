"""A faithful Kubernetes API server stand-in for the lab, driven by the real ``kubernetes_asyncio`` client.

Why it exists: floe-agents diagnoses a Floe platform on Kubernetes, and no kube-apiserver can be installed where
the lab runs. Mocking the client would test the agents against our assumptions; this stand-in instead speaks
the apiserver's HTTP API (discovery, CRUD with optimistic concurrency, selectors, patches, status and scale
subresources, watches, pod logs, ``Status`` errors with the real wording), so the very code that talks to a real
cluster is what the lab exercises.

Use it in-process (``async with serve(store, token=...) as url``; ``serve_endpoints(..., tls=...)`` adds an HTTPS
listener, which ``kubectl`` needs), or as a process (``python -m floe_lab.kube --port N --token T [--state FILE]``).
Whoever plays kubelet and the controllers drives the same :class:`KubeStore` directly and
:meth:`KubeStore.subscribe`\\ s to its changes. ``kubectl`` works against it too: server-side tables
(:mod:`.tables`), the OpenAPI v3 documents its validation reads (:mod:`.openapi`), its protobuf bodies
(:mod:`.protobuf`).
"""

from floe_lab.kube.client import client_configuration
from floe_lab.kube.errors import ApiError
from floe_lab.kube.events import Subscription, WatchEvent
from floe_lab.kube.resources import RESOURCES, ResourceType
from floe_lab.kube.server import Endpoints, create_app, serve, serve_endpoints, serving_context
from floe_lab.kube.state import load_manifests
from floe_lab.kube.store import KubeStore

__all__ = [
    "RESOURCES",
    "ApiError",
    "Endpoints",
    "KubeStore",
    "ResourceType",
    "Subscription",
    "WatchEvent",
    "client_configuration",
    "create_app",
    "load_manifests",
    "serve",
    "serve_endpoints",
    "serving_context",
]
