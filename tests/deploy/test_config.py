"""The CronJob mounts a targets file the product itself accepts, beside the platform's own platform.yaml.

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

PLATFORM_FILE = Path(__file__).with_name("upstream-platform.yaml")  # what the chart's ConfigMap holds


def _mounted(objs: list[Obj], into: Path) -> Path:
    """The projected volume written under ``into`` as the kubelet mounts it (this deployment's targets.yaml and
    the platform's own platform.yaml from the chart's ConfigMap); the path the CronJob's ``--target`` names there."""
    cronjob, config = only(objs, "CronJob"), only(objs, "ConfigMap")
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    [volume] = [v for v in pod["volumes"] if "projected" in v]
    ours, platform = (source["configMap"] for source in volume["projected"]["sources"])
    assert ours["name"] == config["metadata"]["name"], "the pod mounts the generated ConfigMap"
    assert platform == {
        "name": "floe-infra-platform-config",
        "items": [{"key": "platform.yaml", "path": "platform.yaml"}],
    }
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount.get("readOnly") is True
    target = PurePosixPath(container["args"][container["args"].index("--target") + 1])
    mount_path = PurePosixPath(mount["mountPath"])
    assert target.parent == mount_path, "--target names a file of the mounted volume"
    for key, text in config["data"].items():
        (into / key).write_text(text)
    (into / "platform.yaml").write_text(PLATFORM_FILE.read_text())
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
    assert plan.platform is not None, "targets.yaml names the platform.yaml projected beside it"
    assert plan.platform.catalogs and plan.platform.storage
    assert plan.platform.inline_secrets() == [], "platform.yaml holds secret references, never values"
