"""The floe-agents image on the lab node: a pod of ``floe-agents:<tag>`` runs this repository's own CLI.

Why: the in-cluster CronJob in ``deploy/`` names the image built from the repository's ``Dockerfile``
(``floe-agents``, kustomize sets the tag; ``ghcr.io/floe-agents/floe-agents`` where it is pushed), and in the lab that
image is this checkout's virtualenv. So the launcher plays the Dockerfile's image as Kubernetes runs it: the
container's ``command`` replaces the ENTRYPOINT (``/opt/floe-agents/bin/floe-agents``) and its ``args`` the CMD
(``--help``); the image's ``ENV`` (``HOME``/``TMPDIR``/``XDG_CACHE_HOME`` on ``/tmp``, no bytecode, unbuffered, its
``bin`` first on ``PATH``) sits under the container's ``env``; its ``WORKDIR`` is ``/tmp``. Paths the container
names are the pod's: a ``mountPath`` (``/etc/floe-agents/targets.yaml``, the ``/tmp`` emptyDir) leads to the volume's
folder, ``/opt/floe-agents/bin`` to this virtualenv's ``bin``, and an unmounted ``/tmp`` to a folder of the pod's own
root file system. The user (``runAsUser``) is the kubelet's business, as for every image; the root file system is
not made read-only (the kubelet does not model ``readOnlyRootFilesystem``).
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

import anyio

from floe_lab import procs
from floe_lab.kubelet import ExecNotFoundError, LaunchContext, Launcher, image_launcher, requested_command
from floe_lab.kubelet.execimage import rewrite_paths

__all__ = ["IMAGES", "floe_agents_image", "image_launchers"]

IMAGES = ("floe-agents", "ghcr.io/floe-agents/floe-agents")  # repositories, any tag: Dockerfile and deploy/
IMAGE_BIN = "/opt/floe-agents/bin"
ENTRYPOINT = (f"{IMAGE_BIN}/floe-agents",)
CMD = ("--help",)
CONTAINER_TMP = "/tmp"  # noqa: S108 - the container's /tmp, which leads to a folder of the pod's own
WORKDIR = CONTAINER_TMP
IMAGE_ENV = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "HOME": CONTAINER_TMP,
    "XDG_CACHE_HOME": f"{CONTAINER_TMP}/.cache",
    "TMPDIR": CONTAINER_TMP,
}
_VENV_BIN = Path(sys.executable).parent
_TRAVERSE = stat.S_IXGRP | stat.S_IXOTH


def _paths(ctx: LaunchContext) -> dict[str, Path]:
    """Container path -> local path: the pod's mounts over the image's own folders."""
    root_tmp = ctx.pod_dir / "rootfs" / "tmp"
    root_tmp.mkdir(parents=True, exist_ok=True)
    os.chmod(root_tmp, 0o1777)  # noqa: S103 - a container's /tmp: any user may write it, sticky as /tmp is
    return {IMAGE_BIN: _VENV_BIN, CONTAINER_TMP: root_tmp, **ctx.mounts}


async def floe_agents_image(ctx: LaunchContext) -> procs.ProcSpec:
    """Run the container's command (default: the image's ``floe-agents --help``) with this checkout's CLI."""
    return await anyio.to_thread.run_sync(_spec, ctx)


def _reachable_by_any_user(pod_dir: Path) -> None:
    """Let any user traverse to this interpreter, this virtualenv and the pod's own folder (its volumes), as any user
    can reach them in a container: the image's ``/opt/floe-agents`` and base Python are world-readable, and a node
    bind-mounts the volumes at their ``mountPath``. Why: the CronJob runs as ``runAsUser: 10001``, and the lab keeps
    Python and the lab's state under private homes (``/root``, pytest's ``/tmp/pytest-of-root``: 0700), where that
    user could neither run the interpreter nor read ``/etc/floe-agents/targets.yaml``. Only the execute (traverse)
    bits are added, to folders that lack them; nothing becomes listable or readable that was not. Root only."""
    if os.geteuid() != 0:
        return
    for target in {Path(sys.executable).resolve(), _VENV_BIN.resolve(), pod_dir.resolve() / "volumes" / "-"}:
        for folder in target.parents:
            mode = folder.stat().st_mode  # group too: a container left in group 0 is judged by the group bits
            if mode & _TRAVERSE != _TRAVERSE:
                folder.chmod(mode | _TRAVERSE)


def _spec(ctx: LaunchContext) -> procs.ProcSpec:
    _reachable_by_any_user(ctx.pod_dir)  # whichever user the kubelet runs the container as
    paths = _paths(ctx)
    asked = requested_command(ctx.container, entrypoint=ENTRYPOINT) or [*ENTRYPOINT, *CMD]
    image_path = f"{IMAGE_BIN}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
    env = {"PATH": image_path, **IMAGE_ENV, **ctx.env}
    env = {name: rewrite_paths(value, paths) for name, value in env.items()}
    argv = [rewrite_paths(arg, paths) for arg in asked]
    if shutil.which(argv[0], path=env["PATH"]) is None:
        raise ExecNotFoundError(asked[0])
    cwd = Path(rewrite_paths(str(ctx.container.get("workingDir") or WORKDIR), paths))
    return procs.ProcSpec(name=ctx.pod_name, argv=argv, env=env, cwd=cwd if cwd.is_dir() else ctx.pod_dir)


def image_launchers() -> dict[str, Launcher]:
    """The launcher table entries for the image's repositories (``image:<repository>``)."""
    return dict.fromkeys((image_launcher(repo) for repo in IMAGES), floe_agents_image)
