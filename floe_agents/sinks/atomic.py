"""Writing a report so that it is never lost: the whole new report, or the old one untouched.

The text goes to a temporary file in the report's own folder (so the rename cannot cross file systems), is flushed
and fsynced, then renamed over the report, and the folder is fsynced so the rename itself survives a crash. If any
step fails (a full disk, a quota, a read-only folder) the temporary file is removed and the old report is left
byte for byte as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically"]


def _mode_for(path: Path) -> int:
    """The new file's permissions: the old report's, else what a plain ``open(path, "w")`` would give."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) all at once; raises OSError and leaves ``path`` untouched on failure."""
    data = text.encode("utf-8")
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fchmod(fd, _mode_for(path))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened or fsynced
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
