"""The probe toolkit is one public import path, and the sample third-party package needs nothing private."""

from __future__ import annotations

import ast
from pathlib import Path

import floe_agents.toolkit as toolkit

ROOT = Path(__file__).resolve().parents[2]


def test_every_toolkit_name_is_importable_from_it() -> None:
    missing = [name for name in toolkit.__all__ if not hasattr(toolkit, name)]
    assert not missing
    assert {"probe", "call_json", "gather", "CannotObserveError", "Credential", "Verdict"} <= set(toolkit.__all__)


def test_the_sample_plugin_imports_only_public_modules() -> None:
    private = []
    for path in (ROOT / "examples" / "floe-agents-acme").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and module.startswith("floe_agents") and any(p.startswith("_") for p in module.split(".")):
                private.append(f"{path.relative_to(ROOT)}: {module}")
    assert not private, private
