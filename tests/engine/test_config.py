"""Config loading: Floe's platform.yaml schema, targets merged over defaults, errors that name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_agents.config import ConfigError, PlatformConfig, load_targets, load_yaml_model
from floe_agents.config.platform import SecretReference

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_example_platform_yaml_parses_with_floe_semantics() -> None:
    config = load_yaml_model(PlatformConfig, EXAMPLES / "platform.yaml")
    assert config.catalogs["default"].warehouse == "demo_catalog"
    assert config.storage["bronze"].path_style_access is True
    assert config.observability.service_name == "floe-k8s-local"
    secret = config.catalogs["default"].credentials.client_secret
    assert isinstance(secret, SecretReference) and secret.env_name == "POLARIS_CLIENT_SECRET"
    assert config.urls()["observability.lineage_endpoint"].endswith("/api/v1/lineage")
    assert config.layers["bronze"].namespace == "demo_catalog.bronze"


def test_inline_secrets_are_known_to_the_redactor() -> None:
    config = PlatformConfig.model_validate(
        {"catalogs": {"c": {"uri": "http://x", "warehouse": "w", "credentials": {"client_secret": "inline-s3cret"}}}}
    )
    assert config.inline_secrets() == ["inline-s3cret"]
    assert "inline-s3cret" not in repr(config)


def test_targets_default_to_upstream_chart_names_and_nodeports() -> None:
    targets = load_targets(None)
    polaris = targets.components["polaris"].endpoints
    assert polaris["api"].urls == {"cluster": "http://floe-infra-polaris:8181", "local": "http://localhost:30181"}
    assert polaris["management"].health_path == "/q/health/ready"
    assert targets.components["dagster-webserver"].endpoints["http"].urls["local"] == "http://localhost:30000"
    assert targets.namespace == "floe" and targets.vantage == "local"


def test_user_targets_merge_over_defaults(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "components:\n  polaris:\n    endpoints:\n      api:\n        urls:\n          local: http://127.0.0.1:9999\n"
    )
    targets = load_targets(tmp_path / "t.yaml")
    api = targets.components["polaris"].endpoints["api"]
    assert api.urls == {"cluster": "http://floe-infra-polaris:8181", "local": "http://127.0.0.1:9999"}
    assert "s3" in targets.components
    assert load_targets(EXAMPLES / "targets.yaml").vantages["cluster"].resolver == "hosts"


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        ("version: '2.0'\n", "version", "unsupported platform.yaml version"),
        ("catalogs: {c: {uri: http://x}}\n", "catalogs.c.warehouse", "Field required"),
        ("storage: {b: {bucket: x, type: ftp}}\n", "storage.b.type", "Input should be"),
        ("observability: {tracez: true}\n", "observability.tracez", "unknown field"),
        ("- just\n- a list\n", None, "expected a mapping at the top level"),
    ],
)
def test_platform_errors_name_file_field_and_problem(
    tmp_path: Path, text: str, field: str | None, problem: str
) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_yaml_model(PlatformConfig, path)
    assert info.value.path == str(path) and info.value.field == field and problem in info.value.problem
    assert str(info.value).startswith(str(path))
