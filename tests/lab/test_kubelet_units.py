"""The kubelet's pure rules, checked directly: env expansion and resolution, wording, hashes, durations."""

from __future__ import annotations

import base64

import pytest

from floe_lab.kubelet import launcher_for
from floe_lab.kubelet.envresolve import ConfigError, expand, expand_command, resolve_env
from floe_lab.kubelet.node import go_duration
from floe_lab.kubelet.status import qualified_image
from floe_lab.kubelet.templates import template_hash

POD = {"metadata": {"name": "p", "namespace": "floe", "uid": "u1", "labels": {"app": "x"}}, "spec": {}, "status": {}}


def test_expansion_follows_kubernetes_rules() -> None:
    env = {"A": "1", "B": "two"}
    assert expand("$(A)-$(B)", env) == "1-two"
    assert expand("$(MISSING)", env) == "$(MISSING)"  # undefined references stay as written
    assert expand("$$(A)", env) == "$(A)"  # $$ escapes
    assert expand("cost: $5 $(A", env) == "cost: $5 $(A"


def test_command_and_args_expand_from_the_container_env() -> None:
    ctr = {"name": "c", "command": ["sh", "-c", "echo $(A) $$(A) $(NOPE)"], "args": ["$(B)"], "image": "x"}
    assert expand_command(ctr, {"A": "1", "B": "two"}) == {
        **ctr,
        "command": ["sh", "-c", "echo 1 $(A) $(NOPE)"],
        "args": ["two"],
    }
    assert expand_command({"name": "c"}, {"A": "1"}) == {"name": "c"}


def test_each_container_has_its_launcher() -> None:
    pod = {"metadata": {"annotations": {"lab.floe.dev/launch": "serve", "lab.floe.dev/launch.migrate": "dagster"}}}
    assert launcher_for(pod, "web", first_app=True) == "serve"
    assert launcher_for(pod, "wait-db", first_app=False) == "exec"  # an init container: the node's exec image
    assert launcher_for(pod, "migrate", first_app=False) == "dagster"  # named for that container


def test_env_resolution_order_optional_refs_and_errors() -> None:
    secret = {"data": {"pw": base64.b64encode(b"s").decode(), "bad key": base64.b64encode(b"x").decode()}}
    cm = {"data": {"MODE": "fast", "URL": "http://x"}}
    container = {
        "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}, {"secretRef": {"name": "sec"}}],
        "env": [
            {"name": "CM_MODE", "value": "override"},
            {"name": "OPT", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}}},
            {"name": "LBL", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        ],
    }
    env = resolve_env(POD, container, {("floe", "sec"): secret}, {("floe", "cm"): cm})
    assert env == {"CM_MODE": "override", "CM_URL": "http://x", "pw": "s", "LBL": "x", "IP": "127.0.0.1"}
    missing_key = {"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "nokey"}}}]}
    with pytest.raises(ConfigError, match=r"^couldn't find key nokey in ConfigMap floe/cm$"):
        resolve_env(POD, missing_key, {}, {("floe", "cm"): cm})
    with pytest.raises(ConfigError, match=r'^configmap "other" not found$'):
        resolve_env(POD, {"envFrom": [{"configMapRef": {"name": "other"}}]}, {}, {})


def test_wording_helpers() -> None:
    assert [go_duration(s) for s in (0.2, 1, 16, 30, 90, 300)] == ["200ms", "1s", "16s", "30s", "1m30s", "5m0s"]
    assert qualified_image("nginx:1.27") == "docker.io/library/nginx:1.27"
    assert qualified_image("floe-lab/polaris:local") == "docker.io/floe-lab/polaris:local"
    assert qualified_image("ghcr.io/org/app:v1") == "ghcr.io/org/app:v1"
    first = template_hash({"spec": {"containers": [{"name": "a"}]}})
    assert first == template_hash({"spec": {"containers": [{"name": "a"}]}})
    assert first != template_hash({"spec": {"containers": [{"name": "b"}]}})
    assert set(first) <= set("bcdfghjklmnpqrstvwxz2456789")
