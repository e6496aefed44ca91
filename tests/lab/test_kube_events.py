"""Watches on the Kubernetes stand-in through the real ``kubernetes_asyncio`` client: ADDED/MODIFIED/DELETED in
order, resuming from a resource version, selectors, timeouts and the 410 a too-old version gets."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubernetes_asyncio import client, watch
from kubernetes_asyncio.client.exceptions import ApiException

from floe_lab.kube import KubeStore, client_configuration, serve


async def test_watch_sees_added_modified_deleted(kube_api: Any) -> None:
    core: Any = client.CoreV1Api(kube_api)
    await core.create_namespaced_config_map("floe", {"metadata": {"name": "first"}, "data": {"v": "1"}})
    seen: list[tuple[str, str, str | None]] = []
    async with watch.Watch() as w:
        async for event in w.stream(core.list_namespaced_config_map, "floe", timeout_seconds=5):
            obj = event["object"]
            seen.append((event["type"], obj.metadata.name, (obj.data or {}).get("v")))
            if event["type"] == "ADDED" and obj.metadata.name == "first":  # the synthetic initial event
                await core.create_namespaced_config_map("floe", {"metadata": {"name": "second"}, "data": {"v": "1"}})
            elif event["type"] == "ADDED":
                await core.patch_namespaced_config_map("second", "floe", {"data": {"v": "2"}})
            elif event["type"] == "MODIFIED":
                await core.delete_namespaced_config_map("second", "floe")
            else:
                break
    assert seen == [
        ("ADDED", "first", "1"),
        ("ADDED", "second", "1"),
        ("MODIFIED", "second", "2"),
        ("DELETED", "second", "2"),
    ]


async def test_watch_resumes_from_resource_version_and_honours_selectors(kube_api: Any) -> None:
    core: Any = client.CoreV1Api(kube_api)
    start = (await core.list_namespaced_pod("floe")).metadata.resource_version
    pod = {"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    await core.create_namespaced_pod("floe", pod)
    await core.patch_namespaced_pod("web", "floe", {"metadata": {"labels": {"app": "retired"}}})
    events = []
    async with watch.Watch() as w:
        stream = w.stream(
            core.list_namespaced_pod, "floe", label_selector="app=web", resource_version=start, timeout_seconds=5
        )
        async for event in stream:
            events.append((event["type"], event["object"].metadata.labels["app"]))
            if event["type"] == "DELETED":
                break
    # the pod stopped matching the selector: the watcher sees it go away, with its last matching state
    assert events == [("ADDED", "web"), ("DELETED", "web")]


async def test_watch_times_out_and_too_old_resource_version_is_410() -> None:
    store = KubeStore(history_size=2)
    async with serve(store) as url, client.ApiClient(client_configuration(url)) as api:
        core: Any = client.CoreV1Api(api)
        for n in range(4):
            await core.create_namespaced_config_map("default", {"metadata": {"name": f"c{n}"}})
        async with watch.Watch() as w:
            with pytest.raises(ApiException) as caught:
                async for _ in w.stream(
                    core.list_namespaced_config_map, "default", resource_version="1", timeout_seconds=1
                ):
                    pass
        assert caught.value.status == 410
        loop = asyncio.get_running_loop()
        began = loop.time()
        async with watch.Watch() as w:
            events = [
                e["type"]
                async for e in w.stream(
                    core.list_namespaced_config_map,
                    "default",
                    resource_version=store.resource_version,
                    timeout_seconds=1,
                )
            ]
        assert events == []
        assert 0.9 < loop.time() - began < 3
