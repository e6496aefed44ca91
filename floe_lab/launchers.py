"""What each lab "image" runs: the launcher for every ``lab.floe.dev/launch`` annotation.

The kubelet resolves a pod's env, volumes and ports exactly as Kubernetes would and then asks a launcher for
the real process. Launchers only translate: container ports to real ports, mounted config to files, and — for
clients that resolve names in C (libpq, gRPC core), where the Python-level pod network cannot help — Service URLs
to the real loopback address through the Service table. A URL naming something that is no Service is left as is,
so it fails the way it would in a pod.

The Dagster images honour the container's ``command``/``args`` (:mod:`floe_lab.dagster_commands`): heal's
migrate Job, a copy of the webserver's pod template told to run ``dagster instance migrate``, migrates; it does not
start a webserver. The other images run their one program and ignore ``command``/``args``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from urllib.parse import quote

import yaml

from floe_lab import procs
from floe_lab.agents_image import image_launchers
from floe_lab.dagster_commands import dagster_command, migrate_home
from floe_lab.dagster_site.dagster import DEMO_MODULE
from floe_lab.kubelet import LaunchContext, requested_command
from floe_lab.kubelet.ports import PortBook
from floe_lab.names import LabNames
from floe_lab.network import SERVICES_FILE, ServiceTable

__all__ = ["launchers"]

Launcher = Callable[[LaunchContext], Awaitable[procs.ProcSpec]]
PY = sys.executable
ROOT = str(Path(__file__).resolve().parents[1])
USER_CODE_PORT = 3030  # the user deployment Service's gRPC port
_KEEP = frozenset({"PATH", "HOME", "LANG", "TMPDIR", "PYTHONPATH", "FLOE_LAB_SERVICES", "VIRTUAL_ENV", "USER", "TZ"})


def _exe(name: str) -> str:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else name


def _names(ctx: LaunchContext) -> LabNames:
    """The names the lab was started under (``lab up`` saved them before the node came up)."""
    return LabNames.load(ctx.state_dir)


def _table(ctx: LaunchContext) -> ServiceTable:
    return ServiceTable.load(ctx.state_dir / SERVICES_FILE)


def _spec(
    ctx: LaunchContext,
    argv: list[str],
    ready: list[procs.ReadyCheck],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> procs.ProcSpec:
    """A container gets its own env, not the host's: only the basics (and the pod network) are inherited."""
    unset = [key for key in os.environ if key not in _KEEP and not key.startswith("LC_")]
    return procs.ProcSpec(
        name=ctx.pod_name,
        argv=argv,
        env={**ctx.env, **(env or {})},
        ports=dict(ctx.ports),
        ready=ready,
        cwd=cwd or ctx.pod_dir,
        unset=unset,
    )


async def s3(ctx: LaunchContext) -> procs.ProcSpec:
    port = ctx.ports["edge"]
    return _spec(ctx, [PY, "-m", "floe_lab.s3", "--port", str(port)], [procs.LogReady("READY")])


async def polaris(ctx: LaunchContext) -> procs.ProcSpec:
    pg = _table(ctx).route(f"{_names(ctx).infra}-postgresql", 5432) or ("127.0.0.1", 9)
    password = quote(ctx.env.get("POLARIS_PG_PASSWORD", ""), safe="")
    db = f"postgresql+psycopg2://postgres:{password}@{pg[0]}:{pg[1]}/polaris"
    argv = [
        PY,
        "-m",
        "floe_lab.polaris",
        "--port",
        str(ctx.ports["http"]),
        "--mgmt-port",
        str(ctx.ports["management"]),
        "--services",
        str(ctx.state_dir / SERVICES_FILE),
    ]
    # The DB URL holds the password and the bootstrap credentials a secret: both by environment (the pod's
    # POLARIS_BOOTSTRAP_CREDENTIALS is already there), never on the command line where `ps` shows them.
    return _spec(ctx, argv, [procs.LogReady("READY")], env={"POLARIS_DB_URL": db})


async def jaeger(ctx: LaunchContext) -> procs.ProcSpec:
    p = ctx.ports
    argv = [
        PY,
        "-m",
        "floe_lab.observability",
        "jaeger",
        "--port",
        str(p["query"]),
        "--otlp-grpc-port",
        str(p["otlp-grpc"]),
        "--otlp-http-port",
        str(p["otlp-http"]),
        "--state",
        str(ctx.pod_dir / "jaeger.json"),
    ]
    return _spec(ctx, argv, [procs.LogReady("READY")])


async def marquez(ctx: LaunchContext) -> procs.ProcSpec:
    argv = [
        PY,
        "-m",
        "floe_lab.observability",
        "marquez",
        "--port",
        str(ctx.ports["http"]),
        "--admin-port",
        str(ctx.ports["admin"]),
        # Marquez keeps its lineage in PostgreSQL, not in the pod: a new pod (a restart, a rollout, a scale-up)
        # finds what the old one received. The file stands for the lab's `marquez` database.
        "--state",
        str(ctx.state_dir / "marquez-db.json"),
    ]
    return _spec(ctx, argv, [procs.LogReady("READY")])


CUBE_MODEL = {
    "cubes": [
        {
            "name": "customer_summary",
            "sql_table": "gold.customer_summary",
            "measures": [{"name": "count", "type": "count"}],
            "dimensions": [{"name": "customer_id", "type": "number"}],
        },
        {
            "name": "order_analytics",
            "sql_table": "gold.order_analytics",
            "measures": [{"name": "revenue", "type": "sum", "sql": "revenue"}],
            "dimensions": [{"name": "status", "type": "string"}],
        },
    ]
}


async def cube(ctx: LaunchContext) -> procs.ProcSpec:
    model = ctx.pod_dir / "model.yaml"
    model.write_text(yaml.safe_dump(CUBE_MODEL))
    argv = [PY, "-m", "floe_lab.observability", "cube", "--port", str(ctx.ports["http"]), "--model", str(model)]
    return _spec(ctx, argv, [procs.LogReady("READY")])


def _dagster_home(ctx: LaunchContext) -> Path:
    """DAGSTER_HOME with the mounted instance config, its Postgres host routed like cluster DNS would."""
    home = ctx.pod_dir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    source = next((p / "dagster.yaml" for p in ctx.mounts.values() if (p / "dagster.yaml").exists()), None)
    config = yaml.safe_load(source.read_text()) if source else {}
    db = config.get("storage", {}).get("postgres", {}).get("postgres_db")
    if db:
        routed = _table(ctx).route(str(db["hostname"]), int(db.get("port", 5432)))
        if routed:
            db["hostname"], db["port"] = routed
    config.setdefault("telemetry", {"enabled": False})
    config.setdefault("nux", {"enabled": False})
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    names = _names(ctx)
    # The real port behind the code server's Service; before the code server's pod runs, the Service has no route
    # yet: then the port the lab set aside for that container (ports.json), where it will listen. Not 127.0.0.1:9:
    # a webserver started first kept that dead address for good (its reloads never reached the code server).
    grpc = _table(ctx).route(names.user_code, USER_CODE_PORT) or _set_aside(ctx, names.user_code, "grpc")
    grpc = grpc or ("127.0.0.1", 9)
    location = {"host": grpc[0], "port": grpc[1], "location_name": names.code_location}
    workspace = {"load_from": [{"grpc_server": location}]}
    (home / "workspace.yaml").write_text(yaml.safe_dump(workspace))
    return home


def _set_aside(ctx: LaunchContext, workload: str, port_name: str) -> tuple[str, int] | None:
    """The loopback port ``lab up`` allocated to ``workload``'s container port ``port_name``, if any."""
    real = PortBook(ctx.state_dir).table().get(workload, {}).get(port_name)
    return None if real is None else ("127.0.0.1", real)


def _dagster_spec(
    ctx: LaunchContext,
    default: list[str],
    ready: list[procs.ReadyCheck],
    home: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> procs.ProcSpec:
    """A Dagster image's process: the pod's own command if it has one (then Ready once running, as a pod
    without a readiness probe), else the image's default program with its readiness check."""
    command = dagster_command(ctx, home, exe=_exe)
    argv = command or default
    if argv[1:3] == ["instance", "migrate"]:
        home = migrate_home(ctx, home)
    env = {"DAGSTER_HOME": str(home), **(env or {})}
    return _spec(ctx, argv, [] if command else ready, env=env, cwd=cwd or home)


async def dagster_webserver(ctx: LaunchContext) -> procs.ProcSpec:
    home = _dagster_home(ctx)
    if requested_command(ctx.container) is not None:  # the pod's own program: no port of the default's needed
        return _dagster_spec(ctx, [], [], home)
    port = ctx.ports["http"]
    argv = [_exe("dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", str(home / "workspace.yaml")]
    return _dagster_spec(ctx, argv, [procs.HttpReady(f"http://127.0.0.1:{port}/server_info")], home)


async def dagster_daemon(ctx: LaunchContext) -> procs.ProcSpec:
    home = _dagster_home(ctx)
    argv = [_exe("dagster-daemon"), "run", "-w", str(home / "workspace.yaml")]
    return _dagster_spec(ctx, argv, [procs.LogReady("Instance is configured with the following daemons")], home)


async def dagster_code_server(ctx: LaunchContext) -> procs.ProcSpec:
    table = _table(ctx)
    home = _dagster_home(ctx)
    port = ctx.ports.get("grpc", 0) if requested_command(ctx.container) is not None else ctx.ports["grpc"]
    env = {"PYICEBERG_CATALOG__FLOE__PY_IO_IMPL": "pyiceberg.io.fsspec.FsspecFileIO"}
    if "OTEL_EXPORTER_OTLP_ENDPOINT" in ctx.env:  # the OTLP gRPC exporter resolves names in C
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = table.url(ctx.env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    argv = [
        _exe("dagster"),
        "code-server",
        "start",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-m",
        DEMO_MODULE,
        "--location-name",
        _names(ctx).code_location,
        "-d",
        ROOT,
        "--use-python-environment-entry-point",
    ]
    ready: list[procs.ReadyCheck] = [procs.LogReady("Started Dagster code proxy server"), procs.TcpReady(port)]
    return _dagster_spec(ctx, argv, ready, home, env=env, cwd=ctx.pod_dir)


async def job_module(ctx: LaunchContext, job: str) -> procs.ProcSpec:
    return _spec(ctx, [PY, "-m", "floe_lab.jobs", job], [])


async def dagster_migrate(ctx: LaunchContext) -> procs.ProcSpec:
    return _dagster_spec(ctx, [_exe("dagster"), "instance", "migrate"], [], _dagster_home(ctx))


def launchers() -> dict[str, Launcher]:
    """The launcher table the kubelet is started with (``--launchers floe_lab.launchers:launchers``)."""

    def job(name: str) -> Launcher:
        async def launch(ctx: LaunchContext) -> procs.ProcSpec:
            return await job_module(ctx, name)

        return launch

    return {
        "s3": s3,
        "polaris": polaris,
        "jaeger": jaeger,
        "marquez": marquez,
        "cube": cube,
        "dagster-webserver": dagster_webserver,
        "dagster-daemon": dagster_daemon,
        "dagster-code-server": dagster_code_server,
        "job:localstack-init": job("localstack-init"),
        "job:polaris-init": job("polaris-init"),
        "job:seed-data": job("seed-data"),
        "job:dagster-migrate": dagster_migrate,
        **image_launchers(),  # floe-agents:<tag>, the in-cluster CronJob's image (floe_lab.agents_image)
    }
