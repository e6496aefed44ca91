"""``--target`` never turns a file it may not read into a traceback: a folder the user cannot enter makes
``Path.exists`` raise (PermissionError) rather than answer False; the target is then read, and reading says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_agents.cli.common import _target_path, build_plan
from floe_agents.config.loading import ConfigError


def test_an_unenterable_folder_is_a_path_whose_reading_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: Path, *args: object, **kwargs: object) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "exists", denied)
    assert _target_path("targets") == Path("targets")  # a bare name it cannot check is still taken as a file
    assert _target_path("/secret/targets.yaml") == Path("/secret/targets.yaml")  # a path is never probed
    with pytest.raises(ConfigError, match="targets"):
        build_plan(None, "targets", None, None, 5.0, 4)
