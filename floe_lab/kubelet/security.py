"""A pod's ``securityContext`` on this node: who the container's process runs as, and who owns its volumes.

Why real users: "permission denied" on a mounted file or a data folder is a classic platform fault, and it only
shows if the process really runs as ``runAsUser``/``runAsGroup`` (the container's value wins over the pod's) with
``fsGroup`` and ``supplementalGroups`` as supplementary groups, and if volume files really belong to ``fsGroup``
(group read for ConfigMap/Secret/downward API volumes, group read-write for emptyDir, set-gid folders: the
kubelet's ``SetVolumeOwnership``). The lab node runs as root, so it can: the process is started through
:mod:`floe_lab.kubelet.dropuser`. With no user given the container runs as its image's user, which on the lab
node is the node's own. ``runAsNonRoot`` refuses a container that would run as uid 0, with the kubelet's
``CreateContainerConfigError`` wording. A node that is not root cannot switch users: the process then runs as
the node's user (logged once per container). ``readOnlyRootFilesystem`` has no mapping (a lab process's root
file system is this machine's) and is not enforced.
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from floe_lab import procs

__all__ = ["Identity", "as_identity", "identity", "non_root_error", "own_volumes"]

_DROPUSER = Path(__file__).resolve().with_name("dropuser.py")
_READ_ONLY_SOURCES = ("configMap", "secret", "downwardAPI", "projected")


@dataclass(frozen=True)
class Identity:
    """The uid, gid and supplementary groups a container's process runs with."""

    uid: int
    gid: int
    groups: tuple[int, ...]


def _contexts(pod: Mapping[str, Any], container: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    return (pod.get("spec") or {}).get("securityContext") or {}, container.get("securityContext") or {}


def identity(pod: Mapping[str, Any], container: Mapping[str, Any]) -> Identity | None:
    """Who the container runs as, or None when its pod asks for nothing (the image's user: the node's)."""
    pod_sc, ctr_sc = _contexts(pod, container)
    uid, gid = ctr_sc.get("runAsUser", pod_sc.get("runAsUser")), ctr_sc.get("runAsGroup", pod_sc.get("runAsGroup"))
    fs_group, extra = pod_sc.get("fsGroup"), [int(g) for g in pod_sc.get("supplementalGroups") or []]
    if uid is None and gid is None and fs_group is None and not extra:
        return None
    user = os.getuid() if uid is None else int(uid)
    if gid is None:  # the user's group from the image's passwd, else root's group, as the runtime decides
        try:
            gid = pwd.getpwuid(user).pw_gid if uid is not None else os.getgid()
        except KeyError:
            gid = 0
    groups = [int(gid), *([int(fs_group)] if fs_group is not None else []), *extra]
    return Identity(user, int(gid), tuple(dict.fromkeys(groups)))


def non_root_error(pod: Mapping[str, Any], container: Mapping[str, Any], pod_ref: str) -> str | None:
    """The kubelet's refusal when ``runAsNonRoot`` is set and the container would run as root; else None."""
    pod_sc, ctr_sc = _contexts(pod, container)
    if not ctr_sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
        return None
    uid = ctr_sc.get("runAsUser", pod_sc.get("runAsUser"))
    name = container.get("name")
    if uid is None and os.getuid() == 0:
        return f'container has runAsNonRoot and image will run as root (pod: "{pod_ref}", container: {name})'
    if uid is not None and int(uid) == 0:
        return f'container\'s runAsUser breaks non-root policy (pod: "{pod_ref}", container: {name})'
    return None


def as_identity(spec: procs.ProcSpec, who: Identity | None) -> procs.ProcSpec:
    """``spec`` started as ``who``: through ``dropuser`` when that is not who the node already is."""
    if who is None or ((who.uid, who.gid) == (os.getuid(), os.getgid()) and set(who.groups) <= {*os.getgroups()}):
        return spec
    if os.geteuid() != 0:
        return spec  # an unprivileged node cannot switch users (see the module docstring)
    env = dict(spec.env)
    if "HOME" not in env:
        try:
            env["HOME"] = pwd.getpwuid(who.uid).pw_dir
        except KeyError:
            env["HOME"] = "/"
    groups = ",".join(str(g) for g in who.groups)
    argv = [sys.executable, "-I", "-S", str(_DROPUSER), str(who.uid), str(who.gid), groups, "--", *spec.argv]
    return replace(spec, argv=argv, env=env)


def _own(path: Path, group: int, read_only: bool) -> None:
    info = path.lstat()
    os.lchown(path, -1, group)
    if stat.S_ISLNK(info.st_mode):
        return
    mask = 0o440 if read_only else 0o660
    if stat.S_ISDIR(info.st_mode):
        mask |= stat.S_ISGID | 0o110
    os.chmod(path, stat.S_IMODE(info.st_mode) | mask)


def own_volumes(pod: Mapping[str, Any], folders: Mapping[str, Path]) -> None:
    """Give the pod's volumes (not hostPath) to its ``fsGroup``, as the kubelet does before any container runs."""
    fs_group = ((pod.get("spec") or {}).get("securityContext") or {}).get("fsGroup")
    if fs_group is None:
        return
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        folder = folders.get(str(volume.get("name")))
        if folder is None or "hostPath" in volume or not folder.is_dir():
            continue
        read_only = any(source in volume for source in _READ_ONLY_SOURCES)
        _own(folder, int(fs_group), read_only)
        for path in folder.rglob("*"):
            _own(path, int(fs_group), read_only)
