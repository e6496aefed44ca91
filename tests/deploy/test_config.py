"""The ConfigMap the CronJob mounts holds a targets file and a platform.yaml the product itself accepts.

Why load them with the product's own code (``build_plan``, as ``floe-agents investigate --target`` does): a
targets file that fails validation makes every scheduled run exit 3 before it looks at anything, and nothing in
``kubectl apply`` would notice. The files are written out as the kubelet mounts them (one file per key) and the
``--target`` path the CronJob passes is followed to them.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from floe_agents.cli.common import build_plan
from floe_agents.config.targets import CLUSTER_VANTAGE
from tests.deploy.kustomize import OVERLAYS, Obj, only


def _mounted(objs: list[Obj], into: Path) -> Path:
    """The ConfigMap written under ``into`` as the CronJob mounts it; the path its ``--target`` names there."""
    cronjob, config = only(objs, "CronJob"), only(objs, "ConfigMap")
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    [volume] = [v for v in pod["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == config["metadata"]["name"], "the pod mounts the generated ConfigMap"
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount.get("readOnly") is True
    target = PurePosixPath(container["args"][container["args"].index("--target") + 1])
    mount_path = PurePosixPath(mount["mountPath"])
    assert target.parent == mount_path, "--target names a file of the mounted ConfigMap"
    for key, text in config["data"].items():
        (into / key).write_text(text)
    return into / target.name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_targets_file_is_valid_and_observes_from_inside_the_cluster(
    rendered: dict[str, list[Obj]], overlay: str, tmp_path: Path
) -> None:
    objs = rendered[overlay]
    plan = build_plan(None, str(_mounted(objs, tmp_path)), None, None, 20.0, 32)
    targets = plan.targets
    assert targets.kubernetes.mode == "in-cluster"
    assert targets.vantage == CLUSTER_VANTAGE
    assert targets.vantages[CLUSTER_VANTAGE].resolver == "system", "Service names resolve through the pod's DNS"
    assert targets.secrets() == [], "no credential or token is written into the ConfigMap"
    assert targets.namespace == only(objs, "CronJob")["metadata"]["namespace"], "it observes its own namespace"
    urls = [u for c in targets.components.values() for e in c.endpoints.values() if (u := e.url_for(targets.vantage))]
    assert urls and all("localhost" not in u for u in urls)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_platform_file_the_targets_name_loads_with_floes_schema(
    rendered: dict[str, list[Obj]], overlay: str, tmp_path: Path
) -> None:
    plan = build_plan(None, str(_mounted(rendered[overlay], tmp_path)), None, None, 20.0, 32)
    assert plan.platform is not None, "targets.yaml names platform.yaml beside it"
    assert plan.platform.catalogs and plan.platform.storage
    assert plan.platform.inline_secrets() == [], "platform.yaml holds secret references, never values"
