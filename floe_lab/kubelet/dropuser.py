"""Become the container's user and groups, then run its program: what runc does between fork and exec.

Why a separate tiny program: ``floe_lab.procs`` starts every lab process, and knows only a user *name*; a pod's
``securityContext`` gives numbers (``runAsUser: 1000`` needs no ``/etc/passwd`` entry), a group and supplementary
groups (``fsGroup``). The kubelet starts this file with ``python -I -S`` (no site, no lab imports: milliseconds)
as ``dropuser.py UID GID G1,G2 -- PROGRAM ARGS...``; it drops privileges and ``exec``s, so the program keeps the
pid, the log and the environment it was started with. A program that cannot be run exits 127 (missing) or 126,
as a shell reports it, with the runtime's wording on stderr (the container's log).
"""

from __future__ import annotations

import os
import sys


def _resolve(program: str) -> str | None:
    """The program's path, searched in ``$PATH`` as ``execvp`` would (done before dropping privileges: afterwards
    the interpreter may not read its own library, which lives wherever the node installed it)."""
    if "/" in program:
        return program
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = os.path.join(folder or ".", program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def main(argv: list[str]) -> int:
    """Drop to ``UID``/``GID`` with the supplementary ``GROUPS`` and exec the rest (after ``--``)."""
    uid, gid, groups, separator, *command = argv
    if separator != "--" or not command:
        print("usage: dropuser.py UID GID G1,G2 -- PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    path = _resolve(command[0])
    if path is None:
        print(f'exec: "{command[0]}": executable file not found in $PATH', file=sys.stderr, flush=True)
        return 127
    os.setgroups([int(g) for g in groups.split(",") if g])
    os.setgid(int(gid))
    os.setuid(int(uid))
    try:
        os.execv(path, command)  # noqa: S606 - the container's own program, as its pod spec says
    except OSError as exc:
        print(f'exec: "{command[0]}": {exc.strerror}', file=sys.stderr, flush=True)
        return 127 if isinstance(exc, FileNotFoundError) else 126
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
