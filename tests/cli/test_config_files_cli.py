"""Hostile and broken files through the real `floe-agents investigate`: exit 3 and one short line naming the file,
the field (or line) and the problem; never a traceback, never the file's huge value echoed back."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

EXE = str(Path(sys.executable).with_name("floe-agents"))

DEEP = "storage: " + "[" * 3000 + "]" * 3000 + "\n"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _huge(path: Path) -> Path:
    with path.open("wb") as out:
        out.write(b"storage: '")
        os.truncate(out.fileno(), 50 * 1024 * 1024)  # sparse 50 MB
    return path


def _platform_via_targets(p: Path) -> list[str]:
    _write(p / "deep-platform.yaml", DEEP)
    return ["--target", str(_write(p / "t.yaml", "platform: deep-platform.yaml\n"))]


def _url(url: str) -> Callable[[Path], list[str]]:
    text = f"components: {{polaris: {{endpoints: {{api: {{urls: {{local: '{url}'}}}}}}}}}}\n"
    return lambda p: ["--target", str(_write(p / "t.yaml", text))]


CASES: list[tuple[str, Callable[[Path], list[str]], str]] = [
    ("deep config", lambda p: ["--config", str(_write(p / "p.yaml", DEEP))], "p.yaml: invalid YAML at line 1"),
    ("deep target", lambda p: ["--target", str(_write(p / "t.yaml", DEEP))], "nested deeper than 64 levels"),
    ("deep rules", lambda p: ["--rules", str(_write(p / "r.yaml", DEEP))], "r.yaml: invalid YAML at line 1"),
    ("deep platform: file", _platform_via_targets, "deep-platform.yaml: invalid YAML at line 1, column"),
    ("huge config", lambda p: ["--config", str(_huge(p / "p.yaml"))], "p.yaml: file too large"),
    ("alias bomb", lambda p: ["--config", str(_write(p / "p.yaml", BOMB))], "counting each alias expanded"),
    ("empty config", lambda p: ["--config", str(_write(p / "p.yaml", ""))], "p.yaml: file is empty"),
    (
        "duplicate key",
        lambda p: ["--target", str(_write(p / "t.yaml", "vantage: local\nnamespace: a\nvantage: cluster\n"))],
        "t.yaml: invalid YAML at line 3, column 1: duplicate key 'vantage' (first at line 1)",
    ),
    (
        "port out of range",
        _url("http://localhost:99999"),
        "t.yaml: components.polaris.endpoints.api.urls.local: not a valid URL 'http://localhost:99999'",
    ),
    (
        "undeclared vantage",
        lambda p: [
            "--target",
            str(_write(p / "t.yaml", "components: {s3: {endpoints: {api: {urls: {lab: 'http://x:1'}}}}}\n")),
        ],
        "components.s3.endpoints.api.urls.lab: vantage 'lab' is not declared",
    ),
    (
        "huge value",
        lambda p: ["--config", str(_write(p / "p.yaml", "version: '9" + "9" * 300_000 + "'\n"))],
        "p.yaml: version: unsupported platform.yaml version '9999",
    ),
]


@pytest.mark.parametrize(("name", "args", "message"), CASES, ids=[c[0] for c in CASES])
async def test_a_bad_file_is_one_short_line_and_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, args: Callable[[Path], list[str]], message: str
) -> None:
    monkeypatch.setenv("FLOE_AGENTS_LAB_DIR", str(tmp_path / "no-lab"))
    with anyio.fail_after(60):
        result = await anyio.run_process([EXE, "investigate", *args(tmp_path)], check=False)
    err = result.stderr.decode()
    assert result.returncode == 3, err[:500]
    assert result.stdout == b""
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err[:500]
    assert err.startswith("floe-agents: error: ") and message in err, err[:500]
    assert len(err) < 400, err[:500]  # never the file's content echoed back
