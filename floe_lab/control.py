"""``lab up`` / ``lab status`` / ``lab down``: the lab's lifecycle, across separate CLI invocations.

``up`` plays "node boot + helm install": it starts the node-level servers (PostgreSQL, the Kubernetes API
stand-in, the kubelet), applies the scenario's manifests through the real Kubernetes client, waits for the
workloads to settle (ready, or stuck the way the scenario's faults make them), runs the Helm hook Jobs in weight
order, launches one pipeline run so there is run history and telemetry, and writes ``lab.json``, the
targets file and a kubeconfig (the API over TLS, for ``kubectl``: :mod:`floe_lab.kubeconfig`). The stack's names
(namespace, release, warehouse, buckets: :mod:`floe_lab.names`) are saved first, in ``names.json``. Everything it
starts is recorded by PID in the state folder, so ``down`` — any later process — stops it all and checks that
nothing is left listening.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
import yaml

from floe_lab import procs
from floe_lab.cluster_ops import apply_objects, run_hook_jobs, wait_settled
from floe_lab.dagster_runs import launch_demo_run
from floe_lab.kubeconfig import KUBECONFIG_FILE, PKI_DIR, LabPki, issue_pki, write_kubeconfig
from floe_lab.manifests import LabSettings, infra_objects
from floe_lab.manifests_dagster import dagster_objects, hook_jobs
from floe_lab.names import NAMES_FILE, LabNames
from floe_lab.network import PORTS_FILE, SERVICES_FILE, allocate_ports, services_table, write_json, write_private
from floe_lab.platform_file import platform_yaml
from floe_lab.postgres import remove_data, start_postgres
from floe_lab.scenario import Scenario
from floe_lab.targets_file import lab_targets

__all__ = ["LabError", "LabInfo", "lab_down", "lab_info", "lab_memory", "lab_up", "status_rows"]

Say = Callable[[str], None]
LAB_FILE = "lab.json"


class LabError(RuntimeError):
    """The lab cannot do what was asked; the message is for the user."""


@dataclass(frozen=True)
class LabInfo:
    state_dir: str
    scenario: str
    faults: list[str]
    api_url: str
    targets: str
    started_at: float
    up_seconds: float
    endpoints: dict[str, str]
    jobs: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    kubeconfig: str = ""  # for kubectl: the API over TLS (empty in a lab.json written before there was one)


def lab_info(state_dir: Path) -> LabInfo | None:
    path = state_dir / LAB_FILE
    if not path.exists():
        return None
    return LabInfo(**json.loads(path.read_text()))


def _python() -> str:
    return sys.executable


RESTART_BACKOFF_ENV = "FLOE_LAB_RESTART_BACKOFF"


def _backoff_args() -> list[str]:
    """The kubelet's restart back-off: a real kubelet's (10 s doubling to 300 s) unless ``FLOE_LAB_RESTART_BACKOFF``
    names another first step in seconds (the ceiling stays 30 times it). Why: a test suite that starts a dozen labs
    and heals each waits through every back-off; the kubelet's own tests pin the real one."""
    raw = os.environ.get(RESTART_BACKOFF_ENV, "").strip()
    try:
        base = float(raw) if raw else None
    except ValueError:
        base = None
    if base is None or not 0 < base <= 60:  # nonsense falls back to the real kubelet's
        return []
    return ["--backoff-base", f"{base:g}", "--backoff-max", f"{base * 30:g}"]


async def _start_node(
    state_dir: Path, settings: LabSettings, ports: dict[str, dict[str, int]], token: str, *, pki: LabPki, say: Say
) -> tuple[str, str]:
    """PostgreSQL, the API server and the kubelet: what a node brings before anything is scheduled. Returns the
    API's plain-HTTP URL (floe-agents, the kubelet, the lab's own calls) and its HTTPS URL (kubectl)."""
    api_port, secure_port = procs.free_port(), procs.free_port()
    tls = ["--tls-cert-file", str(pki.serving_cert), "--tls-private-key-file", str(pki.serving_key)]
    api_spec = procs.ProcSpec(
        name="kube-apiserver",
        argv=[_python(), "-m", "floe_lab.kube", "--port", str(api_port), "--secure-port", str(secure_port), *tls],
        env={"FLOE_LAB_KUBE_TOKEN": token},
        ports={"http": api_port, "https": secure_port},
        ready=[procs.LogReady("READY")],
    )
    pg_port = ports[f"{settings.names.infra}-postgresql"]["tcp-postgresql"]

    async def postgres() -> None:
        await start_postgres(state_dir, password=settings.pg_password, port=pg_port)

    async with anyio.create_task_group() as tg:
        tg.start_soon(postgres)
        tg.start_soon(procs.start, state_dir, api_spec)
    say(f"node: postgres on 127.0.0.1:{pg_port}, kube-apiserver on 127.0.0.1:{api_port} (https: {secure_port})")
    api_url = f"http://127.0.0.1:{api_port}"
    kubelet = procs.ProcSpec(
        name="kubelet",
        argv=[
            _python(),
            "-m",
            "floe_lab.kubelet",
            "--api",
            api_url,
            "--state",
            str(state_dir),
            "--launchers",
            "floe_lab.launchers:launchers",
            *_backoff_args(),
        ],
        env={"FLOE_LAB_KUBE_TOKEN": token},
        ready=[procs.LogReady("READY")],
    )
    await procs.start(state_dir, kubelet)
    say("node: kubelet ready")
    return api_url, f"https://127.0.0.1:{secure_port}"


async def lab_up(
    state_dir: Path,
    scenario: Scenario,
    say: Say,
    *,
    names: LabNames | None = None,
    settle_s: float = 90.0,
    run_pipeline: bool = True,
) -> LabInfo:
    """Start the lab with ``scenario``'s faults under ``names`` (the upstream charts' by default)."""
    names = names or LabNames()
    state_dir = Path(await anyio.Path(state_dir).resolve())
    if (existing := lab_info(state_dir)) is not None:
        raise LabError(
            f"a lab is already running in {state_dir} (scenario {existing.scenario}); run `floe-agents lab down` first"
        )
    t0 = time.monotonic()
    state_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    settings = LabSettings(pg_password=secrets.token_urlsafe(16), faults=scenario.faults, names=names)
    names.save(state_dir)  # before any pod starts: the launchers read it
    objects = [*infra_objects(settings), *dagster_objects(settings)]
    jobs = hook_jobs(settings)
    ports = allocate_ports(objects)
    table = services_table(objects, ports)
    write_json(state_dir / PORTS_FILE, ports)
    write_json(state_dir / SERVICES_FILE, table)
    say(f"lab: scenario {scenario.name} ({', '.join(sorted(scenario.faults)) or 'no faults'})")
    if names != LabNames():
        say(f"lab: namespace {names.namespace}, release {names.release}, warehouse {names.warehouse}, "
            f"buckets {', '.join(names.layer_buckets.values())}")  # fmt: skip
    pki = await anyio.to_thread.run_sync(issue_pki, state_dir)  # a new CA per lab, like a new cluster
    try:
        api_url, secure_url = await _start_node(state_dir, settings, ports, token, pki=pki, say=say)
        await apply_objects(api_url, token, objects, names.namespace)
        say(f"helm: applied {len(objects)} objects to namespace {names.namespace}")
        await wait_settled(api_url, token, names.namespace, say, deadline_s=settle_s)
        job_results = await run_hook_jobs(api_url, token, jobs, names.namespace, say)
        run_id = await launch_demo_run(ports, names, say) if run_pipeline else None
    except BaseException:
        with anyio.CancelScope(shield=True):
            await procs.settle_spawns()  # a server spawned while we were cancelled has its record by now
            records = {r.name: r for r in procs.load_records(state_dir)}
            if "kubelet" in records:
                await procs.stop(state_dir, records["kubelet"], grace=procs.STOP_GRACE_S)
            await procs.stop_all(state_dir)
            await anyio.to_thread.run_sync(procs.kill_leftovers, state_dir)  # anything unrecorded, last
            remove_data(state_dir)
        raise
    targets = state_dir / "targets.yaml"
    credentials = {
        "polaris_client_id": settings.client_id,
        "polaris_client_secret": settings.client_secret,
        "postgres_password": settings.pg_password,
        "s3_access_key_id": settings.aws_key,
        "s3_secret_access_key": settings.aws_secret,
        "cube_api_secret": settings.cube_secret,
    }
    text = yaml.safe_dump(lab_targets(ports, table, api_url, token, credentials, names=names), sort_keys=False)
    for path, content in ((state_dir / "platform.yaml", platform_yaml(names)), (targets, text)):
        await anyio.to_thread.run_sync(write_private, path, content)  # 0600: token and passwords inside
    kubeconfig = await anyio.to_thread.run_sync(write_kubeconfig, state_dir, secure_url, pki, token, names.namespace)
    endpoints = {f"{w}/{n}": f"127.0.0.1:{p}" for w, named in ports.items() for n, p in named.items()}
    info = LabInfo(
        state_dir=str(state_dir),
        scenario=scenario.name,
        faults=sorted(scenario.faults),
        api_url=api_url,
        targets=str(targets),
        started_at=time.time(),
        up_seconds=round(time.monotonic() - t0, 2),
        endpoints=endpoints,
        jobs=job_results,
        run_id=run_id,
        kubeconfig=str(kubeconfig),
    )
    write_json(state_dir / LAB_FILE, asdict(info))
    return info


async def lab_down(state_dir: Path, say: Say) -> list[int]:
    """Stop every process the lab started (kubelet first, so it cannot restart pods); return ports still open."""
    state_dir = Path(await anyio.Path(state_dir).resolve())
    records = {r.name: r for r in procs.load_records(state_dir)}
    if not records and lab_info(state_dir) is None and not procs.leftover_pids(state_dir):
        raise LabError(f"no lab in {state_dir}")
    if "kubelet" in records:
        await procs.stop(state_dir, records["kubelet"], grace=procs.STOP_GRACE_S)
    results = await procs.stop_all(state_dir)
    for r in results:
        say(f"stopped {r.name} (pid {r.pid}, {r.how}, {r.seconds:.1f}s)")
    if left := await anyio.to_thread.run_sync(procs.kill_leftovers, state_dir):  # a killed `up` records nothing
        say(f"killed {len(left)} unrecorded processes of this lab (pids {left})")
    ports_file = state_dir / PORTS_FILE
    ports: list[int] = []
    if ports_file.exists():
        ports = [p for named in json.loads(ports_file.read_text()).values() for p in named.values()]
    (state_dir / LAB_FILE).unlink(missing_ok=True)
    # `investigate --target lab` reads this file: without it, it says there is no lab instead of probing dead ports.
    (state_dir / "targets.yaml").unlink(missing_ok=True)
    (state_dir / KUBECONFIG_FILE).unlink(missing_ok=True)  # so does kubectl: a dead server, a token that is gone
    (state_dir / NAMES_FILE).unlink(missing_ok=True)
    shutil.rmtree(state_dir / PKI_DIR, ignore_errors=True)
    remove_data(state_dir)  # the lab is ephemeral: the next `up` initialises a fresh cluster with new secrets
    return ports_still_held(state_dir, ports)


def ports_still_held(state_dir: Path, ports: Sequence[int]) -> list[int]:
    """The ports among ``ports`` a process of this lab (or one whose owner cannot be read) still listens on: a
    port that another process took after this lab let it go (another lab or test stream, on a busy machine) is
    not a leak of this one."""
    ours = set(procs.leftover_pids(state_dir))
    return [port for port in procs.listening(ports) if not (owners := procs.listener_pids(port)) or owners & ours]


def _own_pids(state_dir: Path) -> list[tuple[procs.ProcRecord, set[int]]]:
    """Each recorded server's processes, minus those another record owns (the kubelet's children are pods)."""
    records = procs.load_records(state_dir.resolve())
    pids = [set(procs.live_pids(rec)) for rec in records]
    out = []
    for i, rec in enumerate(records):
        others: set[int] = set().union(*(p for j, p in enumerate(pids) if j != i and p < pids[i]))
        out.append((rec, pids[i] - others))
    return out


def status_rows(state_dir: Path) -> list[dict[str, Any]]:
    """One row per recorded process: name, pid, alive, ports, RSS (each process counted once)."""
    rows = []
    for rec, pids in _own_pids(state_dir):
        mem = procs.memory_of(pids)
        rows.append(
            {
                "name": rec.name,
                "pid": rec.pid,
                "alive": bool(pids),
                "ports": rec.ports,
                "rss_mb": round(mem.rss_bytes / 2**20, 1),
                "pss_mb": round(mem.pss_bytes / 2**20, 1),
            }
        )
    return rows


def lab_memory(state_dir: Path) -> procs.MemUsage:
    """Memory of the whole lab, every process counted once."""
    return procs.memory_of(set().union(*(pids for _, pids in _own_pids(state_dir))))
