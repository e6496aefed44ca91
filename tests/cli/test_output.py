"""Reports written atomically (finding 5): a failed write exits 3 with one line and leaves the old report intact.

A full disk is simulated two ways: in-process (``os.write`` or ``os.fsync`` failing with ENOSPC), and for the real
executable with a file-size limit (``RLIMIT_FSIZE``: every write past it fails with EFBIG, as on a full disk).
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from floe_agents.sinks.atomic import write_atomically
from tests.support.net import closed_port

EXE = str(Path(sys.executable).with_name("floe-agents"))
OLD = "# the old report\n" + "a line of the old report that must survive\n" * 200


def _disk_full(*_: object) -> int:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_new_report_replaces_the_old_and_keeps_its_mode(tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    report.write_text(OLD)
    report.chmod(0o640)
    write_atomically(report, "new ✓\n")
    assert report.read_text() == "new ✓\n" and report.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


def test_a_new_report_in_a_new_folder(tmp_path: Path) -> None:
    report = tmp_path / "a" / "b" / "report.md"
    write_atomically(report, "x" * 300_000)
    assert report.read_text() == "x" * 300_000


@pytest.mark.parametrize("failing", ["write", "fsync"])
def test_disk_full_leaves_the_old_report_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    report = tmp_path / "report.md"
    report.write_text(OLD)
    before = report.read_bytes()
    real_write = os.write
    calls = []

    def half_then_full(fd: int, data: bytes | memoryview) -> int:  # the first write lands in part, then no space
        calls.append(fd)
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))
        return _disk_full()

    monkeypatch.setattr(os, failing, half_then_full if failing == "write" else _disk_full)
    with pytest.raises(OSError, match="No space left") as caught:
        write_atomically(report, "# the new report\n" * 1000)
    assert caught.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert report.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]  # the temporary file is gone


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, not a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))


def test_a_failed_report_write_exits_3_with_one_line_and_the_old_report_intact(tmp_path: Path) -> None:
    defaults = ["postgres", "s3", "polaris", "jaeger", "marquez", "dagster-webserver", "dagster-user-code"]
    defaults += ["dagster-daemon", "iceberg", "cube", "kubernetes"]
    comps: dict[str, object] = {name: {"enabled": False} for name in defaults}
    comps["webapp"] = {"endpoints": {"api": {"urls": {"local": f"http://127.0.0.1:{closed_port()}"}}}}
    targets = tmp_path / "targets.yaml"
    targets.write_text(yaml.safe_dump({"components": comps}))
    out = tmp_path / "out"
    out.mkdir()
    report = out / "report.md"
    report.write_text(OLD)
    before = report.read_bytes()
    result = subprocess.run(
        [EXE, "investigate", "--target", str(targets), "--report", str(report)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_limit_file_size,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 3, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("floe-agents: error")]
    assert lines == [f"floe-agents: error: {report}: cannot write report (File too large); the old report is unchanged"]
    assert "Traceback" not in result.stderr
    assert report.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["report.md"]
