"""Throw-away virtualenvs for the tests that install something: the project's wheel, the sample plugin package.

What a user gets from ``pip install`` can only be seen by installing it, and installing into the project's own
``.venv`` would change it for every other test (and every other engineer). So these tests build into a temporary
folder and install into a fresh venv made by uv, the same tool ``scripts/bootstrap`` installs with. A venv made
with ``sees_project=True`` also imports what ``.venv`` holds (a ``.pth`` line adds its site-packages), so a plugin
can be installed alone (``--no-deps``) and still run against the engine under test.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Venv", "make_venv", "uv"]


def uv() -> str:
    """The uv executable: the one beside this interpreter (``scripts/bootstrap`` puts it there), else on PATH."""
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    assert found, "uv is needed to build and install packages in tests (scripts/bootstrap installs it)"
    return found


def run(
    *args: str | Path, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a command (``env``: variables added to ours); on failure, fail with its output rather than a bare
    CalledProcessError."""
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done


@dataclass(frozen=True)
class Venv:
    """A virtualenv on disk: its interpreter, scripts folder and site-packages."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @property
    def site_packages(self) -> Path:
        return self.root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"

    def install(self, *what: str | Path) -> None:
        """Install distributions (wheels, project folders) without their dependencies."""
        run(uv(), "pip", "install", "--quiet", "--no-deps", "--python", self.python, *what)


def make_venv(root: Path, *, sees_project: bool = False) -> Venv:
    """A fresh venv at ``root`` on this interpreter; ``sees_project``: it also imports what this one has."""
    run(uv(), "venv", "--quiet", "--python", sys.executable, root)
    venv = Venv(root)
    if sees_project:
        # ``site.addsitedir`` (not a bare path line) so the .pth files there run too: the project's editable
        # install is one of them.
        ours = [p for p in site.getsitepackages() if Path(p).is_dir()]
        lines = [f"import site; site.addsitedir({p!r})" for p in ours]
        (venv.site_packages / "_project_site.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return venv
