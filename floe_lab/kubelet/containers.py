"""The container runtime's side of a run: the process environment, its logs, and how it ended.

Why a pod's process gets a *clean* environment: a container sees its image's and its pod spec's variables, not
the node's. Inheriting the kubelet's environment would hand every pod the lab's API token and hide exactly the
"env var not propagated" faults floe-agents diagnoses. So only the basics a process needs on this machine
(PATH, HOME, locale, TLS roots, proxies) pass through; the resolved pod env, the pod network
(``PYTHONPATH`` with ``floe_lab/podnet`` first, ``FLOE_LAB_SERVICES``, and ``FLOE_LAB_SERVICEACCOUNT`` where the pod
has service-account files) and ``HOSTNAME`` are added.
Exit codes come from ``waitpid`` on our own child, as a runtime reports them (a signal ``N`` is ``128+N``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio

from floe_lab import procs
from floe_lab.kubelet.context import LaunchContext
from floe_lab.kubelet.endpoints import SERVICES_FILE
from floe_lab.kubelet.recorder import now
from floe_lab.kubelet.serviceaccount import SA_ENV, SA_PATH

__all__ = [
    "PODNET_DIR",
    "clear_leftover",
    "finalise",
    "previous_log",
    "start_error",
    "terminated",
    "wait_exit",
]

PODNET_DIR = Path(__file__).resolve().parent.parent / "podnet"
_KEEP = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TERM",
        "TMPDIR",
        "VIRTUAL_ENV",
        "LD_LIBRARY_PATH",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
    }
)
_POLL = 0.1


def finalise(spec: procs.ProcSpec, ctx: LaunchContext, name: str) -> procs.ProcSpec:
    """The launcher's spec made into a pod process: its record name, clean env, pod network, cwd, ports."""
    env = dict(spec.env)
    env["FLOE_LAB_SERVICES"] = str(ctx.state_dir / SERVICES_FILE)
    inherited = env.get("PYTHONPATH") or os.environ.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([str(PODNET_DIR), inherited] if inherited else [str(PODNET_DIR)])
    env.setdefault("HOSTNAME", ctx.pod_name)
    if SA_PATH in ctx.mounts:  # the pod's own service-account files, where the fixed path leads (podnet)
        env[SA_ENV] = str(ctx.mounts[SA_PATH])
    env.setdefault("PYTHONUNBUFFERED", "1")
    unset = {k for k in os.environ if k not in env and k not in _KEEP and not k.startswith("LC_")}
    return replace(
        spec,
        name=name,
        env=env,
        unset=sorted(unset | set(spec.unset)),
        cwd=spec.cwd or ctx.pod_dir,
        ports=dict(spec.ports) or dict(ctx.ports),
    )


def previous_log(log_path: str) -> str | None:
    """Where the previous run's output was kept (``kubectl logs --previous``), if there was one."""
    path = Path(log_path).with_suffix(".previous.log")
    return str(path) if path.exists() else None


async def clear_leftover(state_dir: Path, name: str, *, keep_previous: bool) -> None:
    """Before a (re)start: stop a stray process of an earlier kubelet under the same name, and keep the last
    run's log as the previous log when this is a restart."""
    folder = Path(os.path.abspath(state_dir))  # noqa: ASYNC240 - string work, no I/O
    record = anyio.Path(folder / "procs" / f"{name}.json")
    if await record.exists():
        stale = None
        with contextlib.suppress(ValueError, TypeError, OSError):
            stale = next(
                (r for r in await anyio.to_thread.run_sync(procs.load_records, state_dir) if r.name == name), None
            )
        if stale is not None:
            await procs.stop(state_dir, stale)
    log = anyio.Path(folder / "logs" / f"{name}.log")
    previous = log.with_suffix(".previous.log")
    if keep_previous and await log.exists():
        await anyio.to_thread.run_sync(shutil.copyfile, log, previous)
    elif not keep_previous:
        await previous.unlink(missing_ok=True)


def start_error(argv0: str, exc: OSError) -> str:
    """What containerd says when the container's program cannot be executed."""
    return (
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
        f'runc create failed: unable to start container process: exec: "{argv0}": {exc.strerror}'
    )


def terminated(
    code: int, started_at: str, container_id: str | None, *, reason: str | None = None, message: str | None = None
) -> dict[str, Any]:
    """A ``state.terminated`` of a container: ``Completed`` for exit 0, ``Error`` otherwise, unless ``reason``."""
    state: dict[str, Any] = {
        "exitCode": code,
        "reason": reason or ("Completed" if code == 0 else "Error"),
        "startedAt": started_at,
        "finishedAt": now(),
        "containerID": container_id,
    }
    if message:
        state["message"] = message
    return state


def _poll_child(pid: int) -> tuple[int, int]:
    """``waitpid(WNOHANG)``: never blocks, so it is safe on the event loop."""
    return os.waitpid(pid, os.WNOHANG)


async def wait_exit(rec: procs.ProcRecord) -> int:
    """Wait for the process to exit; its exit code as Kubernetes reports it (``128+N`` for signal ``N``)."""
    while True:
        try:
            pid, status = _poll_child(rec.pid)
        except ChildProcessError:  # not our child any more (reaped elsewhere): we can only see that it is gone
            if not await anyio.to_thread.run_sync(procs.is_alive, rec):
                return 1
            await anyio.sleep(0.5)
        else:
            if pid:
                code = os.waitstatus_to_exitcode(status)
                return 128 - code if code < 0 else code
        await anyio.sleep(_POLL)
