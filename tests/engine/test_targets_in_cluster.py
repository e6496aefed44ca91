"""In a pod, a targets file that names no namespace means the pod's own (the ServiceAccount's namespace file),
so kustomize's ``namespace:`` moves the whole deployment without a second edit inside the mounted targets file."""

from __future__ import annotations

from pathlib import Path

from floe_agents.config.targets import load_targets, pod_namespace


def _files(tmp_path: Path, targets: str, namespace: str | None) -> tuple[Path, Path]:
    path, ns_file = tmp_path / "targets.yaml", tmp_path / "namespace"
    path.write_text(targets, encoding="utf-8")
    if namespace is not None:
        ns_file.write_text(namespace, encoding="utf-8")
    return path, ns_file


def test_in_cluster_without_a_namespace_takes_the_pods_own(tmp_path: Path) -> None:
    path, ns_file = _files(tmp_path, "kubernetes: {mode: in-cluster}\n", "data-platform\n")
    assert load_targets(path, namespace_file=ns_file).namespace == "data-platform"


def test_a_namespace_the_file_names_wins(tmp_path: Path) -> None:
    path, ns_file = _files(tmp_path, "namespace: floe-prod\nkubernetes: {mode: in-cluster}\n", "data-platform")
    assert load_targets(path, namespace_file=ns_file).namespace == "floe-prod"


def test_outside_a_pod_or_outside_in_cluster_mode_the_default_stays(tmp_path: Path) -> None:
    path, ns_file = _files(tmp_path, "kubernetes: {mode: in-cluster}\n", None)
    assert load_targets(path, namespace_file=ns_file).namespace == "floe"  # no file: not in a pod
    path, ns_file = _files(tmp_path, "kubernetes: {mode: kubeconfig}\n", "data-platform")
    assert load_targets(path, namespace_file=ns_file).namespace == "floe"  # a laptop's run never reads it


def test_an_empty_or_unreadable_namespace_file_is_no_namespace(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("  \n", encoding="utf-8")
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    assert pod_namespace(tmp_path / "empty") is None
    assert pod_namespace(tmp_path / "binary") is None
    assert pod_namespace(tmp_path / "absent") is None
