"""What a container's ``command``/``args`` run in the lab's Dagster images.

Why: heal's migration remediation creates a Job whose pod template is the Dagster webserver's, copied, with the
container told to run ``dagster instance migrate`` (the chart's ``<release>-dagster-webserver-instance-migrate``
shape). In the lab the launch annotation (the "image") is then the webserver's, so the image must honour the
command as Kubernetes defines it (``command`` replaces the ENTRYPOINT, ``args`` the CMD) or the Job would start a
webserver and never finish. The programs these images have are ``dagster``, ``dagster-webserver``,
``dagster-daemon`` and ``python``; any other is missing from the image (:class:`ExecNotFoundError`: the pod fails
with exit 127). Options that only make sense inside a pod's own network and file system are translated:
``-h/--host`` to loopback, ``-p/--port`` to the container port's real loopback port, ``-w/--workspace`` to the
lab's workspace file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from floe_lab.kubelet import ExecNotFoundError, LaunchContext, requested_command

__all__ = ["dagster_command", "migrate_home"]

_DAGSTER_PROGRAMS = ("dagster", "dagster-webserver", "dagster-daemon", "python", "python3")
_HOST_FLAGS, _PORT_FLAGS, _WORKSPACE_FLAGS = ("-h", "--host"), ("-p", "--port"), ("-w", "--workspace")


def _real_port(ctx: LaunchContext, wanted: str) -> str:
    """The loopback port behind container port ``wanted`` (a number as the pod spec says it), else unchanged."""
    for port in ctx.container.get("ports") or []:
        name = str(port.get("name") or port.get("containerPort"))
        if str(port.get("containerPort")) == wanted and name in ctx.ports:
            return str(ctx.ports[name])
    return wanted


def _translate(ctx: LaunchContext, args: list[str], home: Path) -> list[str]:
    """Options naming the pod's own network or files, made to name the lab's (see the module docstring)."""
    out: list[str] = []
    for arg in args:
        flag, eq, inline = arg.partition("=")
        previous = out[-1] if out else ""
        if eq and flag in (*_HOST_FLAGS, *_PORT_FLAGS, *_WORKSPACE_FLAGS):
            out.append(f"{flag}={_translate(ctx, [flag, inline], home)[1]}")
        elif previous in _HOST_FLAGS:
            out.append("127.0.0.1")
        elif previous in _PORT_FLAGS:
            out.append(_real_port(ctx, arg))
        elif previous in _WORKSPACE_FLAGS:
            out.append(str(home / "workspace.yaml"))
        else:
            out.append(arg)
    return out


def dagster_command(ctx: LaunchContext, home: Path, *, exe: Callable[[str], str]) -> list[str] | None:
    """The pod's own command for a Dagster image, as a local argv; None for the image's default program."""
    argv = requested_command(ctx.container)
    if argv is None:
        return None
    program = argv[0].rsplit("/", 1)[-1] if argv[0].startswith("/") else argv[0]
    if program not in _DAGSTER_PROGRAMS:
        raise ExecNotFoundError(argv[0])
    local = sys.executable if program.startswith("python") else exe(program)
    return [local, *_translate(ctx, argv[1:], home)]


def migrate_home(ctx: LaunchContext, home: Path) -> Path:
    """The instance ``dagster instance migrate`` runs with: the pod's own, table creation allowed.

    The lab's "unmigrated schema" is an empty database with auto-creation off, and Dagster's migrations assume its
    base tables exist (on that database a migration fails part-way, real behaviour of 1.13). The chart's instance
    allows table creation (Dagster's default), so its migrate Job creates and stamps the schema; the lab's migrate
    container does the same on a copy, leaving the webserver's instance as the scenario set it.
    """
    config = yaml.safe_load((home / "dagster.yaml").read_text()) or {}
    postgres = (config.get("storage") or {}).get("postgres")
    if not isinstance(postgres, dict):
        return home
    postgres["should_autocreate_tables"] = True
    folder = ctx.pod_dir / "dagster_migrate_home"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return folder
