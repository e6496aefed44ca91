"""Every finding code the built-in probes can emit is declared, read from their source.

A code a probe emits but does not declare cannot be named by a rule (the rule would fail to load) and is missing
from ``floe-agents probes``. Running every probe path to see its codes is what the probe tests do, one scenario
at a time; this reads every probe module instead: each code-shaped string literal (``area.what`` whose area is a
declared code area) must be declared, and an f-string building a code (``f"dagster.step_failed_{kind}"``) must
be the prefix of a declared code. Literals read as lookups (``config.get("s3.region")``, ``x["s3.endpoint"]``)
are configuration keys, not codes.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import floe_agents.probes
from floe_agents.registry import Registry

PROBES = Path(floe_agents.probes.__file__).parent
CODE = re.compile(r"^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_]*$")
REGISTRY = Registry.from_entry_points()
DECLARED = REGISTRY.declarations().codes
AREAS = {code.split(".")[0] for code in DECLARED}


def _lookup_keys(tree: ast.AST) -> set[int]:
    """ids of string constants used as ``x.get("k")`` arguments or ``x["k"]`` subscripts."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            out.update(id(a) for a in node.args[:1])
        elif isinstance(node, ast.Subscript):
            out.add(id(node.slice))
    return out


def _code_literals(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line, text, is_prefix) of every code-shaped literal and code-building f-string in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lookups = _lookup_keys(tree)
    in_fstrings = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            prefix = str(node.values[0].value)
            if "." in prefix and prefix.split(".", maxsplit=1)[0] in AREAS and CODE.match(prefix + "x"):
                yield node.lineno, prefix, True
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in in_fstrings:
            text = node.value
            if CODE.match(text) and text.split(".")[0] in AREAS and id(node) not in lookups:
                yield node.lineno, text, False


@pytest.mark.parametrize("path", sorted(PROBES.glob("*.py")), ids=lambda p: p.name)
def test_every_code_a_probe_module_names_is_declared(path: Path) -> None:
    undeclared = [
        f"{path.name}:{line}: {text}{'*' if prefix else ''}"
        for line, text, prefix in _code_literals(path)
        if not (any(code.startswith(text) for code in DECLARED) if prefix else text in DECLARED)
    ]
    assert not undeclared, "codes emitted but declared by no probe:\n" + "\n".join(undeclared)


def test_every_builtin_probe_declares_its_codes_and_its_triggers_are_declared() -> None:
    assert not REGISTRY.load_errors
    assert all(spec.codes for spec in REGISTRY.specs.values()), [s.name for s in REGISTRY.specs.values() if not s.codes]
    for spec in REGISTRY.follow_ups:
        assert spec.on_codes <= set(DECLARED), (spec.name, sorted(spec.on_codes - set(DECLARED)))


def test_a_credential_two_probes_declare_is_declared_the_same_way() -> None:
    seen: dict[str, object] = {}
    for spec in REGISTRY.specs.values():
        for cred in spec.credentials:
            assert seen.setdefault(cred.name, cred) == cred, cred.name
