"""The way docs/kubernetes.md tells a platform team to make the manifests theirs works: deploy/examples/data-platform,
their own overlay on top of ours, renders with the real kubectl into valid objects that say what they asked for.

Why test an example: the Secret names, the namespace and the schedule are exactly what every deployment changes,
and each goes through a different kustomize mechanism (a JSON patch on the Role, the namespace transformer
rewriting RoleBinding subjects, a ConfigMap generator merge). A mechanism that silently does nothing would leave a
Role naming the wrong Secrets, or an account bound in the wrong namespace.
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]  # ships no py.typed
import pytest

from floe_agents.cli.common import build_plan
from tests.deploy.kustomize import DEPLOY, KUBECTL, NO_KUBECTL, Obj, find, only, render
from tests.deploy.test_config import PLATFORM_FILE

EXAMPLE = DEPLOY / "examples" / "data-platform"


@pytest.fixture(scope="module")
def example() -> list[Obj]:
    if KUBECTL is None:
        pytest.skip(NO_KUBECTL)
    return render(EXAMPLE)


def test_the_example_is_valid_for_kubernetes(example: list[Obj]) -> None:
    for obj in example:
        kubernetes_validate.validate(obj, "1.32.0", strict=True)


def test_everything_moves_to_the_namespace_including_the_bindings_subjects(example: list[Obj]) -> None:
    assert {o["metadata"]["namespace"] for o in example} == {"data-platform"}
    for binding in find(example, "RoleBinding"):
        assert [s["namespace"] for s in binding["subjects"]] == ["data-platform"]


def test_the_secret_names_are_set_by_one_patch(example: list[Obj]) -> None:
    [role] = [r for r in find(example, "Role") if r["metadata"]["name"] == "floe-agents-secrets"]
    [rule] = role["rules"]
    assert rule["resourceNames"] == ["floe-demo-credentials", "floe-dagster-postgresql-secret", "regcred"]
    assert rule["verbs"] == ["get"]


def test_schedule_image_and_targets_are_the_teams(example: list[Obj], tmp_path: Path) -> None:
    cronjob = only(example, "CronJob")
    assert (cronjob["spec"]["schedule"], cronjob["spec"]["timeZone"]) == ("15 2 * * *", "Europe/Berlin")
    [container] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example.com/platform/floe-agents:0.1.0"
    for key, text in only(example, "ConfigMap")["data"].items():
        (tmp_path / key).write_text(text)
    (tmp_path / "platform.yaml").write_text(PLATFORM_FILE.read_text())  # the platform's own, projected beside it
    plan = build_plan(None, str(tmp_path / "targets.yaml"), None, None, 20.0, 32)
    assert plan.targets.namespace == "data-platform", "the targets file observes the namespace it is deployed in"
    assert plan.platform is not None, "the platform's platform.yaml, beside the team's targets file"
