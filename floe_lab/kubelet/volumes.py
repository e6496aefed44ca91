"""Pod volumes as folders on disk: what a launcher finds where the container would have its mounts.

Why files and not just values: the lab's servers read their configuration the way the real ones do (Dagster's
``dagster.yaml`` from a mounted ConfigMap, credentials from a mounted Secret), so a wrong key or a missing
ConfigMap is a real missing file. A missing ConfigMap or Secret is what the kubelet reports as ``FailedMount``
(the pod stays ``ContainerCreating``); contents are refreshed on every sync, as the kubelet does for
ConfigMap/Secret volumes mounted without ``subPath``. An ``emptyDir`` is world-writable (mode 0777), as the
kubelet creates it, so a container running as any user can write it.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from floe_lab.kubelet.envresolve import Objects, field_value

__all__ = ["MountError", "container_mounts", "materialise", "sync_folder"]

JsonObj = dict[str, Any]


class MountError(Exception):
    """A volume cannot be set up; ``str()`` is the kubelet's ``FailedMount`` message."""


def _source_files(kind: str, ref: JsonObj, objects: Objects, namespace: str, volume: str) -> dict[str, bytes] | None:
    name = str(ref.get("secretName" if kind == "secret" else "name", ""))
    obj = objects.get((namespace, name))
    if obj is None:
        if ref.get("optional"):
            return {}
        raise MountError(f'MountVolume.SetUp failed for volume "{volume}" : {kind} "{name}" not found')
    data: dict[str, bytes] = {}
    for key, value in (obj.get("data") or {}).items():
        data[key] = base64.b64decode(str(value)) if kind == "secret" else str(value).encode()
    for key, value in (obj.get("binaryData") or {}).items():
        data[key] = base64.b64decode(str(value))
    items = ref.get("items")
    if not items:
        return data
    picked: dict[str, bytes] = {}
    for item in items:
        key = str(item.get("key", ""))
        if key not in data:
            if ref.get("optional"):
                continue
            noun = "config" if kind == "configmap" else "secret"
            raise MountError(
                f'MountVolume.SetUp failed for volume "{volume}" : {kind} references non-existent {noun} key: {key}'
            )
        picked[str(item.get("path") or key)] = data[key]
    return picked


def _downward_files(pod: JsonObj, items: list[JsonObj]) -> dict[str, bytes]:
    files = {}
    for item in items:
        if (ref := item.get("fieldRef")) is not None:
            files[str(item.get("path"))] = field_value(pod, str(ref.get("fieldPath", ""))).encode()
    return files


def _volume_files(pod: JsonObj, volume: JsonObj, secrets: Objects, configmaps: Objects) -> dict[str, bytes] | None:
    """The files a volume holds, or None for a plain folder (emptyDir and anything not modelled)."""
    namespace, name = str(pod["metadata"].get("namespace") or "default"), str(volume.get("name"))
    if (ref := volume.get("configMap")) is not None:
        return _source_files("configmap", ref, configmaps, namespace, name)
    if (ref := volume.get("secret")) is not None:
        return _source_files("secret", ref, secrets, namespace, name)
    if (ref := volume.get("downwardAPI")) is not None:
        return _downward_files(pod, ref.get("items") or [])
    if (ref := volume.get("projected")) is not None:
        files: dict[str, bytes] = {}
        for source in ref.get("sources") or []:
            if (sub := source.get("configMap")) is not None:
                files.update(_source_files("configmap", sub, configmaps, namespace, name) or {})
            elif (sub := source.get("secret")) is not None:
                ref_as_volume = {**sub, "secretName": sub.get("name")}
                files.update(_source_files("secret", ref_as_volume, secrets, namespace, name) or {})
            elif (sub := source.get("downwardAPI")) is not None:
                files.update(_downward_files(pod, sub.get("items") or []))
        return files
    return None


def sync_folder(folder: Path, files: Mapping[str, bytes], mode: int | None) -> None:
    """Make ``folder`` hold exactly ``files`` (each replaced atomically when it changed), with ``mode`` if given."""
    folder.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != content:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(content)
            tmp.replace(path)
        if mode is not None:
            os.chmod(path, mode)
    wanted = {(folder / rel).resolve() for rel in files}
    for path in folder.rglob("*"):
        if path.is_file() and path.resolve() not in wanted:
            with contextlib.suppress(OSError):
                path.unlink()


def materialise(pod: JsonObj, pod_dir: Path, secrets: Objects, configmaps: Objects) -> dict[str, Path]:
    """Create the pod's folder and write every volume under ``pod_dir/volumes``; volume name -> its folder.

    Raises :class:`MountError` (the first failing volume) when a ConfigMap, Secret or key is missing.
    """
    pod_dir.mkdir(parents=True, exist_ok=True)
    folders: dict[str, Path] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = str(volume.get("name"))
        if (host := volume.get("hostPath")) is not None:
            folders[name] = Path(str(host.get("path", "/")))
            continue
        folder = pod_dir / "volumes" / name
        files = _volume_files(pod, volume, secrets, configmaps)
        if files is None:
            folder.mkdir(parents=True, exist_ok=True)
            if "emptyDir" in volume:  # any user may write it, as the kubelet makes it (set-gid kept for fsGroup)
                os.chmod(folder, 0o777 | (folder.stat().st_mode & 0o7000))  # noqa: S103
        else:
            source = volume.get("configMap") or volume.get("secret") or volume.get("projected") or {}
            mode = source.get("defaultMode")
            sync_folder(folder, files, int(mode) if mode is not None else None)
        folders[name] = folder
    return folders


def container_mounts(container: Mapping[str, Any], folders: Mapping[str, Path]) -> dict[str, Path]:
    """``mountPath`` -> local path for the container's ``volumeMounts`` (``subPath`` points inside the volume)."""
    mounts = {}
    for mount in container.get("volumeMounts") or []:
        folder = folders.get(str(mount.get("name")))
        if folder is None:
            continue
        sub = str(mount.get("subPath") or "")
        mounts[str(mount.get("mountPath"))] = folder / sub if sub else folder
    return mounts
