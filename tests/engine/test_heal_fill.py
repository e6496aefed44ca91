"""Filling a playbook's parameters: strict (a write never gets a guessed or empty name), typed when whole."""

from __future__ import annotations

from typing import Any

import pytest

from floe_agents.heal.fill import FillError, fill_params, resolve

SCOPE: dict[str, Any] = {
    "namespace": "floe",
    "evidence": {"secret_name": "pg-secret", "keys": ["a", "b"], "empty": "", "none": None, "port": 5432},
    "platform": {"catalogs": {"default": {"warehouse": "demo_catalog"}}, "layers": {}},
}


def test_a_whole_placeholder_keeps_its_type_and_text_is_formatted() -> None:
    params = {
        "keys": "{evidence.keys}",
        "name": "{namespace}/{evidence.secret_name}",
        "port": "{evidence.port}",
        "nested": {"list": ["{platform.catalogs.default.warehouse}", 3, True]},
        "plain": "no {braces here",
    }
    assert fill_params(params, SCOPE) == {
        "keys": ["a", "b"],
        "name": "floe/pg-secret",
        "port": 5432,
        "nested": {"list": ["demo_catalog", 3, True]},
        "plain": "no {braces here",
    }


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("evidence.missing", "{evidence.missing}: evidence has no 'missing'"),
        ("nope", "{nope}: the cause has no 'nope'"),
        ("evidence.empty", "{evidence.empty} is empty"),
        ("evidence.none", "{evidence.none} is empty"),
        ("platform.layers", "{platform.layers} is empty"),
        ("evidence.secret_name.deeper", "{evidence.secret_name.deeper}: evidence.secret_name has no 'deeper'"),
    ],
)
def test_what_does_not_resolve_is_an_error_naming_it(path: str, message: str) -> None:
    with pytest.raises(FillError) as caught:
        resolve(path, SCOPE)
    assert str(caught.value) == message
    with pytest.raises(FillError):
        fill_params({"x": f"prefix-{{{path}}}"}, SCOPE)


def test_zero_and_false_are_values_not_empties() -> None:
    assert resolve("n", {"n": 0}) == 0
    assert resolve("f", {"f": False}) is False
