"""The node's ``exec`` image: a container that runs its ``command``/``args`` as written, with this machine's programs.

Why: init containers (``sh -c 'until pg_isready ...'``) and small hook containers are shell lines, not lab servers;
there is no launcher to write for them, and what matters is that they run as Kubernetes says — ``command``
replaces the image's ENTRYPOINT and ``args`` its CMD, and this image has neither, so a container that gives
no command cannot be created (``no command specified``, as containerd says). A program this machine does not have
is the image's missing executable (:class:`ExecNotFoundError`: exit 127). The container's mounts are where its
paths say: an argument naming a ``mountPath`` (``/etc/app/app.conf``, ``/dev/termination-log``) is rewritten to
the local file behind it, so ``echo done > /dev/termination-log`` writes the pod's termination message.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from floe_lab import procs
from floe_lab.kubelet.context import ExecNotFoundError, LaunchContext, requested_command

__all__ = ["NoCommandError", "exec_image", "rewrite_paths"]


class NoCommandError(Exception):
    """The container names no program and the image has no default: it cannot be created."""

    def __init__(self) -> None:
        super().__init__("failed to generate container spec: no command specified")


def rewrite_paths(text: str, mounts: Mapping[str, Path]) -> str:
    """``text`` with every container path under a ``mountPath`` replaced by the local path behind it.

    A path matches only whole: ``/etc/app`` rewrites ``/etc/app`` and ``/etc/app/x`` but not ``/etc/apple``.
    Longer mount paths win, as the innermost mount does in a container. One pass: a local path that itself lies
    under a mount path (a state folder in ``/tmp`` while the container mounts ``/tmp``) is not rewritten again.
    """
    local = {mount.rstrip("/"): str(path) for mount, path in mounts.items() if mount.rstrip("/")}
    if not local:
        return text
    alternatives = "|".join(re.escape(m) for m in sorted(local, key=len, reverse=True))
    pattern = re.compile(r"(?<![\w./-])(" + alternatives + r")(?=/|$|[^\w.-])")
    return pattern.sub(lambda match: local[match.group(1)], text)


def _working_dir(ctx: LaunchContext) -> Path:
    wanted = str(ctx.container.get("workingDir") or "")
    if wanted:
        local = Path(rewrite_paths(wanted, ctx.mounts))
        if local.is_dir():
            return local
    return ctx.pod_dir


async def exec_image(ctx: LaunchContext) -> procs.ProcSpec:
    """Run the container's own command (see the module docstring)."""
    argv = requested_command(ctx.container)
    if not argv:
        raise NoCommandError
    program = argv[0]
    search = ctx.env.get("PATH") or os.environ.get("PATH", os.defpath)
    if shutil.which(program, path=search) is None:
        raise ExecNotFoundError(program)
    return procs.ProcSpec(
        name=ctx.pod_name,
        argv=[rewrite_paths(arg, ctx.mounts) for arg in argv],
        env=dict(ctx.env),
        cwd=_working_dir(ctx),
    )
