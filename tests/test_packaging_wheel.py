"""What ``pip install floe-agents`` puts into site-packages: exactly ``floe_agents`` and ``floe_lab``.

The repository keeps the folders the product is known by (``probes/``, ``remediations/``, ``playbooks/``) at its
root, but installed under those names they would be generic top-level modules any other package may also ship.
Only an installed wheel shows what the build backend's mapping really produced, so this test builds the wheel,
installs it alone (``--no-deps``) into a fresh venv, and looks: which top-level names appeared, whether every probe,
rule and playbook file made it inside, and whether every entry point names a module that is there.
"""

from __future__ import annotations

from importlib.metadata import Distribution
from pathlib import Path

import pytest

from tests.support.venv import Venv, make_venv, run, uv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Venv, set[str]]:
    """The project's wheel installed into a fresh venv, and the names it added to site-packages."""
    tmp = tmp_path_factory.mktemp("wheel")
    run(uv(), "build", "--quiet", "--wheel", "--out-dir", tmp / "dist", ROOT)
    [wheel] = (tmp / "dist").glob("*.whl")
    venv = make_venv(tmp / "venv")
    before = {p.name for p in venv.site_packages.iterdir()}
    venv.install(wheel)
    return venv, {p.name for p in venv.site_packages.iterdir()} - before


def test_the_wheel_adds_only_the_floe_agents_and_floe_lab_packages(installed: tuple[Venv, set[str]]) -> None:
    _, added = installed
    top_level = {name for name in added if not name.endswith(".dist-info")}
    assert top_level == {"floe_agents", "floe_lab"}


def _names(folder: Path, pattern: str) -> set[str]:
    return {p.name for p in folder.glob(pattern)}


def test_probes_rules_and_playbooks_are_inside_the_package(installed: tuple[Venv, set[str]]) -> None:
    venv, _ = installed
    package = venv.site_packages / "floe_agents"
    for where, source, pattern in [
        ("probes", ROOT / "probes", "*.py"),
        ("remediations", ROOT / "remediations", "*.py"),
        ("rules", ROOT / "floe_agents" / "rules", "*.yaml"),
        ("_builtin/playbooks", ROOT / "playbooks", "*.yaml"),
    ]:
        assert _names(package / where, pattern) == _names(source, pattern), where
    assert _names(package / "probes", "*.py") > {"__init__.py"}
    assert _names(package / "rules", "*.yaml")
    assert _names(package / "_builtin" / "playbooks", "*.yaml")


def test_every_entry_point_names_a_module_inside_the_wheel(installed: tuple[Venv, set[str]]) -> None:
    venv, added = installed
    [dist_info] = [name for name in added if name.endswith(".dist-info")]
    modules = {ep.module for ep in Distribution.at(venv.site_packages / dist_info).entry_points}
    assert modules, "the wheel declares entry points"
    missing = sorted(
        m
        for m in modules
        if not (venv.site_packages / (m.replace(".", "/") + ".py")).exists()
        and not (venv.site_packages / m.replace(".", "/") / "__init__.py").exists()
    )
    assert not missing, f"entry points name modules the wheel does not hold: {missing}"


def test_the_package_is_marked_typed_for_plugins(installed: tuple[Venv, set[str]]) -> None:
    """A plugin type-checked with mypy reads floe_agents' annotations only when the package carries py.typed."""
    venv, _ = installed
    assert (venv.site_packages / "floe_agents" / "py.typed").is_file()
