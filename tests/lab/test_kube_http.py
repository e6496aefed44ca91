"""Wire-level behaviour of the Kubernetes stand-in: raw watch lines, log follow, PUT-creates, apply, shutdown."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import anyio

from floe_lab.kube import KubeStore, serve

HEADERS = {"Authorization": "Bearer t"}


async def _send(http: aiohttp.ClientSession, method: str, url: str, body: Any, content_type: str) -> tuple[int, Any]:
    data = body if isinstance(body, str) else json.dumps(body)
    async with http.request(method, url, data=data, headers={"Content-Type": content_type}) as response:
        return response.status, await response.json()


async def test_raw_watch_lines_and_clean_shutdown_with_a_watch_open() -> None:
    store = KubeStore()
    async with aiohttp.ClientSession(headers=HEADERS) as http:
        async with serve(store, token="t") as url:
            response = await http.get(f"{url}/api/v1/namespaces/default/configmaps?watch=true")
            assert response.headers["Transfer-Encoding"] == "chunked"
            store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
            with anyio.fail_after(2):
                line = await response.content.readline()
            event = json.loads(line)
            assert (event["type"], event["object"]["kind"]) == ("ADDED", "ConfigMap")
            assert event["object"]["metadata"]["name"] == "c"
            began = anyio.current_time()
            # leaving the block stops the server while the watch is still open: it must end, not hang
        assert anyio.current_time() - began < 2
        with anyio.fail_after(2):
            assert await response.content.read() == b""  # a clean end of the chunked stream
        response.release()


async def test_put_creates_where_the_real_server_allows_it_and_apply_creates_or_merges() -> None:
    async with serve(KubeStore(), token="t") as url, aiohttp.ClientSession(headers=HEADERS) as http:
        lease_url = f"{url}/apis/coordination.k8s.io/v1/namespaces/default/leases/lock"
        status, body = await _send(http, "PUT", lease_url, {"metadata": {"name": "lock"}}, "application/json")
        assert (status, body["kind"]) == (201, "Lease")
        cm_url = f"{url}/api/v1/namespaces/default/configmaps/cfg"
        status, body = await _send(http, "PUT", cm_url, {"metadata": {"name": "cfg"}}, "application/json")
        assert (status, body["reason"]) == (404, "NotFound")  # configmaps cannot be created by PUT
        manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: '1'\n"
        status, body = await _send(http, "PATCH", cm_url, manifest, "application/apply-patch+yaml")
        assert (status, body["reason"]) == (422, "Invalid")  # apply needs a fieldManager
        status, body = await _send(
            http, "PATCH", f"{cm_url}?fieldManager=lab", manifest, "application/apply-patch+yaml"
        )
        assert (status, body["data"]) == (201, {"a": "1"})
        again = manifest.replace("a: '1'", "b: '2'")
        status, body = await _send(http, "PATCH", f"{cm_url}?fieldManager=lab", again, "application/apply-patch+yaml")
        assert (status, body["data"]) == (200, {"a": "1", "b": "2"})
        status, body = await _send(http, "PATCH", cm_url, {"data": {}}, "text/plain")
        assert (status, body["reason"]) == (415, "UnsupportedMediaType")


async def test_log_follow_streams_appended_text_until_the_pod_goes() -> None:
    store = KubeStore()
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }
    store.create(pod)
    store.set_pod_log("default", "p", "one\n")
    async with (
        serve(store, token="t") as url,
        aiohttp.ClientSession(headers=HEADERS) as http,
        http.get(f"{url}/api/v1/namespaces/default/pods/p/log?follow=true") as response,
    ):
        with anyio.fail_after(2):
            assert await response.content.readline() == b"one\n"
            store.append_pod_log("default", "p", "two\n")
            assert await response.content.readline() == b"two\n"
            store.delete("pods", "p")
            assert await response.content.read() == b""


async def test_delete_collection_and_dry_run() -> None:
    store = KubeStore()
    for name, tier in (("a", "web"), ("b", "web"), ("c", "db")):
        store.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"tier": tier}}})
    async with serve(store, token="t") as url, aiohttp.ClientSession(headers=HEADERS) as http:
        base = f"{url}/api/v1/namespaces/default/configmaps"
        async with http.delete(f"{base}?labelSelector=tier%3Dweb&dryRun=All") as response:
            assert [i["metadata"]["name"] for i in (await response.json())["items"]] == ["a", "b"]
        assert len(store.list("configmaps", "default")) == 3
        async with http.delete(f"{base}?labelSelector=tier%3Dweb") as response:
            assert (await response.json())["kind"] == "ConfigMapList"
        assert [c["metadata"]["name"] for c in store.list("configmaps", "default")] == ["c"]
