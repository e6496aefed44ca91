"""Every overlay renders with the real ``kubectl kustomize`` into objects the Kubernetes API would accept.

Why strict schema validation: an unknown or misplaced field (``securityContext`` one level too high, a typo in
``activeDeadlineSeconds``) is silently dropped by ``kubectl apply`` on many clusters, so the hardening the tests
below assert could be absent from the cluster while present in the file. kubernetes-validate checks each object
against the OpenAPI-derived schemas it bundles (no network), rejecting unknown fields, for the oldest and newest
Kubernetes minor we vouch for.
"""

from __future__ import annotations

import kubernetes_validate  # type: ignore[import-untyped]  # ships no py.typed
import pytest

from tests.deploy.kustomize import OVERLAYS, Obj, find

# The Kubernetes versions the manifests are validated for: the kubectl these tests ran with (1.32) and the newest
# schemas kubernetes-validate 1.37 bundles.
K8S_VERSIONS = ("1.32.0", "1.37.0")
KINDS = {
    "investigate": {"ServiceAccount": 1, "Role": 3, "RoleBinding": 3, "ConfigMap": 1, "CronJob": 1},
    "heal-dry-run": {"ServiceAccount": 1, "Role": 4, "RoleBinding": 4, "ConfigMap": 1, "CronJob": 1},
    "heal": {"ServiceAccount": 1, "Role": 5, "RoleBinding": 5, "ConfigMap": 1, "CronJob": 1},
}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_object_is_valid_for_kubernetes_strictly(
    rendered: dict[str, list[Obj]], overlay: str, version: str
) -> None:
    problems = []
    for obj in rendered[overlay]:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{obj['kind']} {obj['metadata'].get('name')}: {exc.message} at {list(exc.path)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_renders_exactly_its_objects_in_one_namespace(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objs = rendered[overlay]
    kinds = {kind: len(find(objs, kind)) for kind in {o["kind"] for o in objs}}
    assert kinds == KINDS[overlay]
    assert {o["metadata"].get("namespace") for o in objs} == {"floe"}, "every object is namespaced into floe"
