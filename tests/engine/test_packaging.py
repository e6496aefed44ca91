"""A plain `pip install floe-agents` (no extras) brings every module the tool imports: the in-cluster image has
no lab. Scans the imports of the engine, the CLI and the probes, and checks each third-party module belongs to a
core dependency or one of theirs."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = {"grpc": "floe_agents/probes/jaeger.py imports it inside the check, which says 'not checked' without it"}


def _core_closure() -> set[str]:
    """Distributions a plain install brings: the core requirements and, transitively, theirs — with the extras a
    requirement asks for (``pyiceberg[pyarrow]``), never floe-agents' own extras."""

    def wanted(req: Requirement, extras: set[str]) -> bool:
        return req.marker is None or any(req.marker.evaluate({"extra": e}) for e in {"", *extras})

    seen: set[str] = set()
    todo = [Requirement(r) for r in metadata.requires("floe-agents") or [] if "extra ==" not in r]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        todo += [sub for r in metadata.requires(req.name) or [] if wanted(sub := Requirement(r), set(req.extras))]
    return seen


def _imported_modules() -> dict[str, str]:
    """Top-level module -> a file importing it, for the code the tool runs: the ``floe_agents`` package, probes
    and remediations included (the lab is the separate ``floe_lab`` package, installed by the ``lab`` extra)."""
    out: dict[str, str] = {}
    for path in sorted((ROOT / "floe_agents").glob("**/*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                out.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return out


def test_a_plain_install_brings_every_module_the_tool_imports() -> None:
    closure, owners = _core_closure(), metadata.packages_distributions()
    missing = {}
    for module, where in _imported_modules().items():
        if module in sys.stdlib_module_names or module in ("floe_agents", "__future__"):
            continue
        dists = {canonicalize_name(d) for d in owners.get(module, [])}
        if not dists & closure and module not in OPTIONAL:
            missing[module] = (where, sorted(dists))
    assert not missing, f"imported, but not brought by the core dependencies: {missing}"
