"""Env and volumes resolved as the kubelet does: missing Secrets/ConfigMaps block the container, with the
kubelet's wording, until they are created through the API — then the process really starts."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from floe_lab import procs
from floe_lab.kubelet import LOG_FILE_ANNOTATION
from tests.support.kubelet import (
    NS,
    answer,
    container,
    container_status,
    eventually,
    is_ready,
    read_text,
    running_lab,
    waiting_reason,
    workload,
)

SECRET_ENV = [
    {"name": "APP_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "app-secret", "key": "password"}}},
    {"name": "APP_URL", "value": "postgresql://app:$(APP_PASSWORD)@db:5432/app"},
    {"name": "APP_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
]


def secret(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NS},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


async def _first_pod(lab: Any, prefix: str) -> dict[str, Any] | None:
    pods = await lab.pods(prefix)
    return pods[0] if pods else None


async def test_missing_secret_blocks_the_container_until_it_is_created(tmp_path: Path) -> None:
    port = procs.free_port()
    async with running_lab(tmp_path, ports={"api": {"http": port}}) as lab:
        await lab.apply(workload("Deployment", "api", "serve", container("api", ports={"http": 8080}, env=SECRET_ENV)))

        async def config_error() -> dict[str, Any] | None:
            pod = await _first_pod(lab, "api-")
            return pod if pod and waiting_reason(pod) == "CreateContainerConfigError" else None

        pod = await eventually(config_error, what="CreateContainerConfigError")
        assert container_status(pod)["state"]["waiting"]["message"] == 'secret "app-secret" not found'
        assert pod["status"]["phase"] == "Pending" and not is_ready(pod)
        failed = [e for e in await lab.events(pod["metadata"]["name"]) if e["reason"] == "Failed"]
        assert failed and failed[0]["message"] == 'Error: secret "app-secret" not found'
        assert failed[0]["type"] == "Warning" and failed[0]["source"]["component"] == "kubelet"
        assert failed[0]["involvedObject"]["fieldPath"] == "spec.containers{api}"
        assert await answer(port) is None  # no process

        await lab.apply(secret("app-secret", user="app"))  # the wrong key first

        async def key_error() -> bool:
            current = await _first_pod(lab, "api-")
            message = container_status(current or {}).get("state", {}).get("waiting", {}).get("message")
            return bool(message == f"couldn't find key password in Secret {NS}/app-secret")

        await eventually(key_error, what="missing key message")

        await lab.request("PUT", f"/api/v1/namespaces/{NS}/secrets/app-secret", secret("app-secret", password="s3cr3t"))

        async def ready() -> dict[str, Any] | None:
            current = await _first_pod(lab, "api-")
            return current if current and is_ready(current) else None

        pod = await eventually(ready, what="Ready after the secret appears")
        assert pod["metadata"]["uid"] == (await lab.pods("api-"))[0]["metadata"]["uid"]  # same pod, retried
        assert await answer(port)
        log = read_text(pod["metadata"]["annotations"][LOG_FILE_ANNOTATION])
        assert "'APP_PASSWORD': 's3cr3t'" in log
        assert "'APP_URL': 'postgresql://app:s3cr3t@db:5432/app'" in log  # $(VAR) expansion
        assert f"'APP_POD': '{pod['metadata']['name']}'" in log


async def test_missing_configmap_volume_is_a_failed_mount_until_created(tmp_path: Path) -> None:
    volumes = [{"name": "config", "configMap": {"name": "app-config"}}]
    mounts = [{"name": "config", "mountPath": "/etc/app"}]
    async with running_lab(tmp_path) as lab:
        await lab.apply(
            workload("Deployment", "cfg", "serve", container("cfg", ports={"http": 80}, mounts=mounts), volumes=volumes)
        )

        async def failed_mount() -> list[dict[str, Any]]:
            return [e for e in await lab.events("cfg-") if e["reason"] == "FailedMount"]

        event = (await eventually(failed_mount, what="FailedMount event"))[0]
        assert event["message"] == 'MountVolume.SetUp failed for volume "config" : configmap "app-config" not found'
        pod = await _first_pod(lab, "cfg-")
        assert pod is not None
        assert waiting_reason(pod) == "ContainerCreating" and pod["status"]["phase"] == "Pending"

        await lab.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "app-config", "namespace": NS},
                "data": {"app.conf": "answer=42"},
            }
        )

        async def ready() -> dict[str, Any] | None:
            current = await _first_pod(lab, "cfg-")
            return current if current and is_ready(current) else None

        pod = await eventually(ready, what="Ready once the ConfigMap exists")
        log = read_text(pod["metadata"]["annotations"][LOG_FILE_ANNOTATION])
        assert "app.conf answer=42" in log  # the launcher found the mounted file
