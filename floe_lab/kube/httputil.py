"""Small HTTP helpers shared by the handlers: app keys, JSON responses, query and body parsing.

Why separate: the handlers then read like the apiserver's verbs (list, create, patch, ...) with the plumbing
(typed app state, 400s for malformed parameters, the exact JSON rendering) written once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from floe_lab.kube import errors, protobuf
from floe_lab.kube.events import Subscription
from floe_lab.kube.resources import ResourceType
from floe_lab.kube.store import KubeStore

__all__ = [
    "STORE",
    "STREAMS",
    "TOKEN",
    "StreamRegistry",
    "Target",
    "dry_run",
    "json_line",
    "json_response",
    "query_bool",
    "query_int",
    "read_body",
]


class StreamRegistry:
    """Open watch subscriptions of one app, ended when the server shuts down (so no handler hangs)."""

    def __init__(self) -> None:
        self.subscriptions: set[Subscription] = set()
        self.stopping = False


STORE: web.AppKey[KubeStore] = web.AppKey("floe_kube_store", KubeStore)
TOKEN: web.AppKey[str | None] = web.AppKey("floe_kube_token", str)
STREAMS: web.AppKey[StreamRegistry] = web.AppKey("floe_kube_streams", StreamRegistry)


@dataclass(frozen=True)
class Target:
    """What a resource URL addresses: a collection (``name`` None), an object, or one of its subresources."""

    resource: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    watch: bool


def _dumps(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # bytes, not text: the apiserver's Content-Type is exactly ``application/json`` (no charset parameter)
    return web.Response(body=_dumps(body).encode(), status=status, content_type="application/json", headers=headers)


def json_line(body: Any) -> bytes:
    return (_dumps(body) + "\n").encode()


def query_int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise errors.bad_request(f'invalid value for {name}: "{raw}" is not an integer') from None


def query_bool(request: web.Request, name: str) -> bool:
    raw = request.query.get(name, "")
    if raw.lower() in {"", "false", "0"}:
        return False
    if raw.lower() in {"true", "1"}:
        return True
    raise errors.bad_request(f'invalid value for {name}: "{raw}" is not a boolean')


def dry_run(request: web.Request, body: dict[str, Any] | None = None) -> bool:
    values = request.query.getall("dryRun", []) + list((body or {}).get("dryRun") or [])
    for value in values:
        if value != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


# Bodies of create/update/delete decoded here; no Content-Type (aiohttp's octet-stream) is read as JSON.
_BODY_TYPES = frozenset({"application/json", "application/yaml", "application/octet-stream"})


async def read_body(request: web.Request, *, optional: bool = False, yaml_ok: bool = False) -> Any:
    """The decoded request body (JSON, or YAML for apply patches); 400 for a missing or malformed one."""
    raw = await request.read()
    if not raw.strip():
        if optional:
            return None
        raise errors.bad_request("the body of the request was empty")
    as_yaml = yaml_ok or request.content_type == "application/yaml"
    if request.method != "PATCH" and request.content_type == protobuf.CONTENT_TYPE:
        return protobuf.decode(raw)  # kubectl's typed clients (``kubectl create secret ...``)
    if request.method != "PATCH" and request.content_type not in _BODY_TYPES:  # a patch's type is checked apart
        raise errors.unsupported_body_media_type()
    try:
        if as_yaml:
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from None
