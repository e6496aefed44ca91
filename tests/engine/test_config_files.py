"""Every YAML file the tool reads goes through one safe loader: bounded size, depth and alias expansion, no
duplicate keys, no empty files; targets are checked field by field. Each problem is one short ConfigError line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from floe_agents.config import ConfigError, PlatformConfig, load_targets, load_yaml_model
from floe_agents.config.loading import MAX_BYTES, MAX_DEPTH, parse_yaml, read_text
from floe_agents.playbooks import load_playbooks
from floe_agents.rules import load_rules

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
)


def _problem(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "f.yaml")
    assert "\n" not in str(info.value) and len(str(info.value)) < 300, str(info.value)
    return info.value


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        "a: " + "[" * 5000 + "]" * 5000,
        "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "leaf\n",
        "a: " + "{x: " * 3000 + "1" + "}" * 3000,
    ],
    ids=["just-too-deep", "flow-5000", "block", "flow-mappings-3000"],
)
def test_deep_nesting_is_refused_without_a_recursion_error(text: str) -> None:
    problem = _problem(text).problem
    assert ("nest" in problem and "line 1" in problem) or "line" in problem, problem


def test_nesting_up_to_the_limit_is_fine() -> None:
    data = parse_yaml("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1), "f.yaml")
    assert isinstance(data["a"], list)


def test_an_alias_that_expands_deeper_than_the_limit_is_refused() -> None:
    half = MAX_DEPTH // 2 + 2
    text = "a: &a " + "[" * half + "]" * half + "\nb: " + "[" * half + "*a" + "]" * half + "\n"
    assert "nested deeper" in _problem(text).problem


def test_an_alias_bomb_is_refused() -> None:
    assert "values (counting each alias expanded)" in _problem(BILLION_LAUGHS).problem


def test_anchors_aliases_and_merge_keys_still_work() -> None:
    text = "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\nl: [*b, *b]\n"
    assert parse_yaml(text, "f.yaml") == {"base": {"x": 1, "y": 2}, "d": {"x": 3, "y": 2}, "l": [{"x": 1, "y": 2}] * 2}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", "at line 3, column 1: duplicate key 'a' (first at line 1)"),
        ("a:\n  b: 1\n  c: 2\n  b: 3\n", "at line 4, column 3: duplicate key 'b' (first at line 2)"),
        ("{k: 1, k: 2}\n", "duplicate key 'k' (first at line 1)"),
    ],
)
def test_duplicate_keys_are_refused_naming_the_key_and_lines(text: str, message: str) -> None:
    assert message in _problem(text).problem


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "~\n"])
def test_an_empty_file_is_a_clear_error(text: str) -> None:
    assert _problem(text).problem == "file is empty (expected a YAML mapping)"


def test_a_huge_file_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as out:
        out.write(b"version: '")
        os.truncate(out.fileno(), 50 * 1024 * 1024)  # sparse: 50 MB that costs nothing to make
    with pytest.raises(ConfigError) as info:
        read_text(path)
    assert info.value.problem.startswith(f"file too large (more than {MAX_BYTES} bytes")
    with pytest.raises(ConfigError, match="file too large"):
        load_yaml_model(PlatformConfig, path)


def test_a_huge_value_is_never_echoed(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("version: '2" + "9" * 500_000 + "'\n")
    with pytest.raises(ConfigError) as info:
        load_yaml_model(PlatformConfig, path)
    message = str(info.value)
    assert "unsupported platform.yaml version '2999" in message and len(message) < 300, message[:400]


def test_a_file_that_is_not_utf8_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_bytes(b"namespace: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_targets(path)


# Targets (finding 9): a URL or port that cannot work is refused naming the field, not met later by a probe.
@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://localhost:99999", "Port out of range"),
        ("http://localhost:0", "has port 0, outside 1..65535"),
        ("http://localhost:http", "Port could not be cast"),
        ("localhost:30181", "needs a scheme and a host"),
        ("http://", "needs a scheme and a host"),
        ("http://:8181/", "has no host"),
        ("/api/catalog", "needs a scheme and a host"),
    ],
)
def test_a_bad_endpoint_url_names_its_field(tmp_path: Path, url: str, problem: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(f"components:\n  polaris:\n    endpoints:\n      api:\n        urls:\n          local: '{url}'\n")
    with pytest.raises(ConfigError) as info:
        load_targets(path)
    assert info.value.field == "components.polaris.endpoints.api.urls.local", str(info.value)
    assert problem in info.value.problem and repr(url) in info.value.problem, str(info.value)


def test_a_url_for_an_undeclared_vantage_names_its_field(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("components: {polaris: {endpoints: {api: {urls: {lcoal: 'http://localhost:1'}}}}}\n")
    with pytest.raises(ConfigError) as info:
        load_targets(path)
    assert info.value.field == "components.polaris.endpoints.api.urls.lcoal"
    assert info.value.problem == "vantage 'lcoal' is not declared under 'vantages' (declared: cluster, local)"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            "components: {s3: {endpoints: {api: {expect_status: [42]}}}}\n",
            "components.s3.endpoints.api.expect_status[0]",
        ),
        ("components: {s3: {endpoints: {api: {health_path: health}}}}", "components.s3.endpoints.api.health_path"),
        ("kubernetes: {mode: url, url: 'https://:6443'}\n", "kubernetes.url"),
    ],
)
def test_other_unusable_target_values_name_their_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_targets(path)
    assert info.value.field == field, str(info.value)


def test_the_shipped_examples_still_load() -> None:
    examples = Path(__file__).parents[2] / "examples"
    assert load_targets(examples / "targets.yaml").vantages["cluster"].resolver == "hosts"
    assert load_yaml_model(PlatformConfig, examples / "platform.yaml").version.startswith("1")


# The same loader behind --rules and playbooks.
def test_rules_files_use_the_safe_loader(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("rules: " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ConfigError, match=r"deep\.yaml: invalid YAML at line 1, column \d+: nested deeper"):
        load_rules([deep])
    dup = tmp_path / "dup.yaml"
    dup.write_text("rules: []\nrules: []\n")
    with pytest.raises(ConfigError, match="duplicate key 'rules'"):
        load_rules([dup])
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match=r"empty\.yaml: file is empty"):
        load_rules([empty])
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"rules: []\n#" + b"x" * MAX_BYTES)
    with pytest.raises(ConfigError, match=r"huge\.yaml: cannot read rules file \(file too large"):
        load_rules([huge])


def test_playbooks_use_the_safe_loader(tmp_path: Path) -> None:
    (tmp_path / "fix-it.yaml").write_text(
        "name: fix-it\ndescription: d\nfixes: [x]\nsteps: [{remediation: acme.fix}]\nname: fix-it\n"
    )
    with pytest.raises(ConfigError, match=r"fix-it\.yaml: invalid YAML at line 5, column 1: duplicate key 'name'"):
        load_playbooks([tmp_path])
    (tmp_path / "fix-it.yaml").write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match=r"fix-it\.yaml: file is empty"):
        load_playbooks([tmp_path])
