"""``securityContext`` on the lab node: processes really run as ``runAsUser``/``runAsGroup`` (the container's value
over the pod's) with ``fsGroup`` and ``supplementalGroups``; volumes really belong to ``fsGroup``; ``runAsNonRoot``
refuses a container that would run as root, in the kubelet's words.

Switching users needs a root node (the lab's); the checks that need it are skipped elsewhere. The folder the lab
runs in is made world-traversable (pytest's own is private to root), as a node's ``/var/lib/kubelet`` is.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from floe_lab.kubelet import LOG_FILE_ANNOTATION
from floe_lab.kubelet.security import Identity, identity
from tests.support.kubelet import NS, container_status, eventually, read_text, running_lab, workload

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="only a root node can run a process as another user")
WHO = "id -u; id -g; id -G"


@pytest.fixture
def open_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="floe-kubelet-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _shell(name: str, script: str, **extra: Any) -> dict[str, Any]:
    mounts = [{"name": "data", "mountPath": "/data"}, {"name": "conf", "mountPath": "/conf"}]
    return {"name": name, "image": "busybox:1.36", "command": ["sh", "-c", script], "volumeMounts": mounts, **extra}


def _who(text: str) -> tuple[int, int, set[int]]:
    uid, gid, groups = text.splitlines()[:3]
    return int(uid), int(gid), {int(g) for g in groups.split()}


def test_the_containers_values_win_over_the_pods() -> None:
    pod = {"spec": {"securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000}}}
    assert identity(pod, {"securityContext": {"runAsUser": 1001}}) == Identity(1001, 3000, (3000, 2000))
    assert identity(pod, {}) == Identity(1000, 3000, (3000, 2000))
    assert identity({"spec": {}}, {}) is None  # nothing asked: the image's user, the node's


@root_only
async def test_processes_run_as_their_user_and_volumes_belong_to_fs_group(open_dir: Path) -> None:
    context = {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000, "supplementalGroups": [4000]}
    init = _shell("setup", f"{WHO}; touch /data/by-init; cat /conf/app.conf")
    app = _shell("app", f"{WHO}; touch /data/by-app; sleep 600", securityContext={"runAsUser": 1001})
    volumes = [{"name": "data", "emptyDir": {}}, {"name": "conf", "configMap": {"name": "app-config"}}]
    deploy = workload("Deployment", "secure", "exec", app, volumes=volumes)
    deploy["spec"]["template"]["spec"].update(securityContext=context, initContainers=[init])
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config", "namespace": NS}}
    async with running_lab(open_dir) as lab:
        await lab.apply({**config, "data": {"app.conf": "answer=42"}}, deploy)

        async def printed() -> dict[str, Any] | None:
            # Its ids printed and its status written: the log can run ahead of the kubelet's next status write.
            pods = await lab.pods("secure-")
            log = (pods[0]["metadata"].get("annotations") or {}).get(LOG_FILE_ANNOTATION) if pods else None
            running = bool(pods) and "running" in (container_status(pods[0]).get("state") or {})
            return pods[0] if running and log and len(read_text(log).splitlines()) >= 3 else None

        pod = await eventually(printed, within=30, what="the app container running, its ids printed")
        name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
        init_log = read_text(lab.state / "logs" / f"{name}_setup.log")
        app_log = read_text(pod["metadata"]["annotations"][LOG_FILE_ANNOTATION])
        data = lab.state / "pods" / uid / "volumes" / "data"
        conf = lab.state / "pods" / uid / "volumes" / "conf" / "app.conf"
        files = {p.name: p.stat() for p in (data, conf, data / "by-init", data / "by-app")}
        assert "running" in container_status(pod)["state"]
    assert _who(init_log) == (1000, 3000, {3000, 2000, 4000}) and init_log.endswith("answer=42")
    assert _who(app_log) == (1001, 3000, {3000, 2000, 4000})  # the container's runAsUser wins
    assert files["data"].st_gid == 2000 and files["data"].st_mode & stat.S_ISGID
    assert stat.S_IMODE(files["data"].st_mode) & 0o777 == 0o777  # emptyDir: writable by anyone
    assert (files["by-init"].st_uid, files["by-init"].st_gid) == (1000, 2000)  # set-gid folder: fsGroup's
    assert (files["by-app"].st_uid, files["by-app"].st_gid) == (1001, 2000)
    assert files["app.conf"].st_gid == 2000 and files["app.conf"].st_mode & 0o040


@root_only
async def test_run_as_non_root_refuses_a_container_that_would_run_as_root(open_dir: Path) -> None:
    image_user = workload("Deployment", "image-user", "exec", _shell("app", "sleep 600"))
    image_user["spec"]["template"]["spec"]["securityContext"] = {"runAsNonRoot": True}
    explicit = workload("Deployment", "explicit", "exec", _shell("app", "sleep 600", securityContext={"runAsUser": 0}))
    explicit["spec"]["template"]["spec"]["securityContext"] = {"runAsNonRoot": True}
    async with running_lab(open_dir) as lab:
        await lab.apply(image_user, explicit)
        messages = {}
        for prefix in ("image-user-", "explicit-"):

            async def refused(prefix: str = prefix) -> dict[str, Any] | None:
                pods = await lab.pods(prefix)
                waiting = container_status(pods[0]).get("state", {}).get("waiting", {}) if pods else {}
                return pods[0] if waiting.get("reason") == "CreateContainerConfigError" else None

            pod = await eventually(refused, within=30, what=f"{prefix} refused")
            ref = f"{pod['metadata']['name']}_{NS}({pod['metadata']['uid']})"
            messages[prefix] = (container_status(pod)["state"]["waiting"]["message"], ref)
    message, ref = messages["image-user-"]
    assert message == f'container has runAsNonRoot and image will run as root (pod: "{ref}", container: app)'
    message, ref = messages["explicit-"]
    assert message == f'container\'s runAsUser breaks non-root policy (pod: "{ref}", container: app)'
