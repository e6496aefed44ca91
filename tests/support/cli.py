"""The real ``floe-agents`` executable in a clean environment, on a targets file with one unreachable component:
the smallest real run, for the tests of what a run does with its report and its traces."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

from tests.support.net import closed_port

__all__ = ["EXE", "clean_env", "floe_agents", "one_component_targets"]

EXE = str(Path(sys.executable).with_name("floe-agents"))
DEFAULTS = ("postgres", "s3", "polaris", "jaeger", "marquez", "dagster-webserver", "dagster-user-code",
            "dagster-daemon", "iceberg", "cube", "kubernetes")  # fmt: skip


def clean_env(**extra: str) -> dict[str, str]:
    """No proxy, terminal, locale or OpenTelemetry setting of the machine running the tests; ``extra`` added."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "VIRTUAL_ENV", "TMPDIR")}
    return {**keep, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def one_component_targets(tmp_path: Path, **extra: object) -> Path:
    """A targets file whose only component, ``webapp``, listens nowhere (every built-in one disabled)."""
    comps: dict[str, object] = {name: {"enabled": False} for name in DEFAULTS}
    comps["webapp"] = {"endpoints": {"api": {"urls": {"local": f"http://127.0.0.1:{closed_port()}"}}}}
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"components": comps, **extra}))
    return path


def floe_agents(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the executable to its end (at most 120 s) in :func:`clean_env` (plus ``env``)."""
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, timeout=120, check=False, env=clean_env(**(env or {}))
    )
