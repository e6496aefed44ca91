"""``floe-agents lab up|status|down``, ``floe-agents demo`` and ``--target lab``, added to the CLI by entry points.

``floe_agents`` never imports the lab: these reach its command line through the ``floe_agents.commands`` and
``floe_agents.targets`` entry points (``floe_agents.cli.plugins``). The lab's servers are imported only inside the
commands: this module loads with every ``floe-agents`` call, and ``investigate`` must not pay for them.
Progress goes to stderr one line per step; the endpoints and the
targets file path go to stdout.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from floe_lab.cli_inject import add_inject_commands
from floe_lab.cli_options import BucketPrefixOpt, NamespaceOpt, ReleaseOpt, StateOpt, WarehouseOpt, lab_state_dir
from floe_lab.names import LabNames

__all__ = ["demo_command", "lab_app", "lab_state_dir", "register", "running_lab_targets"]

if TYPE_CHECKING:
    import anyio.abc

    from floe_lab.control import LabInfo
    from floe_lab.scenario import Scenario

lab_app = typer.Typer(help="A local Floe stack on loopback with fault injection.", no_args_is_help=True)
add_inject_commands(lab_app)


def running_lab_targets() -> Path:
    """``--target lab``: the targets file of the lab running in the default state folder."""
    from floe_agents.config import ConfigError  # noqa: PLC0415 - pydantic: not at every start of the CLI

    path = lab_state_dir() / "targets.yaml"
    if not path.exists():
        raise ConfigError(path, "no running lab (start one with `floe-agents lab up`)")
    return path


def register(app: typer.Typer) -> None:
    """Add ``lab`` and ``demo`` to the ``floe-agents`` command line."""
    app.command("demo")(demo_command)
    app.add_typer(lab_app, name="lab")


def _say(line: str) -> None:
    sys.stderr.write(f"  {line}\n")
    sys.stderr.flush()


def _error(message: str) -> typer.Exit:
    from floe_agents.report.model import EXIT_TOOL_ERROR  # noqa: PLC0415 - the report package is not cheap

    sys.stderr.write(f"floe-agents: error: {message}\n")
    return typer.Exit(EXIT_TOOL_ERROR)


def _root_cause(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups: a task group's failure names its task's error."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


@contextlib.contextmanager
def _sigterm_as_sigint() -> Iterator[None]:
    """SIGTERM takes the SIGINT path (the event loop cancels ``lab up``, which stops whatever it started),
    instead of killing the process on the spot and leaving every server running."""

    def on_term(signum: int, frame: object) -> None:
        signal.raise_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


async def _up_until_signal(state_dir: Path, scenario: Scenario, names: LabNames) -> LabInfo | None:
    """``lab_up``, cancelled by its own scope on SIGINT/SIGTERM (None then). Watching the signals in the loop, not
    relying on asyncio's one cancel of the main task, is what makes the signal land: that single cancel could be
    absorbed by a timeout expiring at the same moment (seen under load: `lab up` ran on to the end)."""
    import anyio  # noqa: PLC0415

    from floe_lab.control import lab_up  # noqa: PLC0415

    work = anyio.CancelScope()
    interrupted = False

    async def watch(*, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        nonlocal interrupted
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            task_status.started()
            async for _ in signals:
                interrupted = True
                work.cancel()
                return

    info: LabInfo | None = None
    async with anyio.create_task_group() as tg:
        await tg.start(watch)
        with work:
            info = await lab_up(state_dir, scenario, _say, names=names)
        tg.cancel_scope.cancel()
    return None if interrupted else info


def _up(state_dir: Path, scenario_name: str, names: LabNames | None = None) -> None:
    import anyio  # noqa: PLC0415 - this module loads with every `floe-agents` call: only typer and rich on top

    from floe_agents.config import ConfigError  # noqa: PLC0415
    from floe_lab.control import LabError  # noqa: PLC0415 - the lab is optional
    from floe_lab.names import LabNameError  # noqa: PLC0415
    from floe_lab.scenario import load_scenario  # noqa: PLC0415

    try:
        scenario = load_scenario(scenario_name)
        names = (names or LabNames()).validated()
    except (ConfigError, LabNameError) as exc:
        raise _error(str(exc)) from None
    sys.stderr.write(f"floe-agents: starting the lab in {state_dir} (scenario {scenario.name})\n")
    try:
        with _sigterm_as_sigint():  # until the event loop watches the signals itself (below)
            info = anyio.run(_up_until_signal, state_dir, scenario, names)
    except KeyboardInterrupt:  # SIGINT or SIGTERM: lab_up has stopped everything it started before this arrives
        raise _error("lab up interrupted (everything started was stopped)") from None
    except Exception as exc:  # a server that would not start: one line naming it and its log file
        cause = _root_cause(exc)
        if isinstance(cause, LabError):
            raise _error(str(cause)) from None
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        raise _error(f"lab up failed (everything started was stopped): {type(cause).__name__}: {first}") from None
    if info is None:  # a signal cancelled it: lab_up stopped whatever it had started
        raise _error("lab up interrupted (everything started was stopped)")
    table = Table(title=f"floe lab up in {info.up_seconds:.1f}s — scenario {info.scenario}")
    table.add_column("workload/port")
    table.add_column("address")
    for name, address in sorted(info.endpoints.items()):
        table.add_row(name, address)
    Console(width=None if sys.stdout.isatty() else 120).print(table)
    sys.stdout.write(
        f"Kubernetes API: {info.api_url}\ntargets file: {info.targets}\n"
        "use it with: floe-agents investigate --target lab\n"
        f"kubeconfig: {info.kubeconfig}\nuse it with: KUBECONFIG={info.kubeconfig} kubectl get pods\n"
    )


@lab_app.command("up")
def up_command(
    scenario: Annotated[
        str, typer.Option("--scenario", "-s", help="Faults to inject (see `lab scenarios`).")
    ] = "healthy",
    *,
    state: StateOpt = None,
    namespace: NamespaceOpt = LabNames.namespace,
    release: ReleaseOpt = LabNames.release,
    warehouse: WarehouseOpt = LabNames.warehouse,
    bucket_prefix: BucketPrefixOpt = LabNames.bucket_prefix,
) -> None:
    """Start the lab (PostgreSQL, S3, catalog, Dagster, Jaeger, Marquez, Cube, Kubernetes API) with a scenario,
    under the upstream charts' names or others (the same faults diagnose the same way under any names)."""
    names = LabNames(namespace=namespace, release=release, warehouse=warehouse, bucket_prefix=bucket_prefix)
    _up(lab_state_dir(state), scenario, names)


@lab_app.command("scenarios")
def scenarios_command() -> None:
    """List the fault scenarios the lab ships."""
    from floe_lab.scenario import load_scenario, scenario_names  # noqa: PLC0415

    for name in scenario_names():
        s = load_scenario(name)
        sys.stdout.write(f"{name:<22} {', '.join(sorted(s.faults)) or '(no faults)'}\n")


@lab_app.command("status")
def status_command(state: StateOpt = None) -> None:
    """Processes of the running lab (PID, alive, ports, RSS) and its pods as the Kubernetes API reports them."""
    import anyio  # noqa: PLC0415

    from floe_lab.cluster_ops import pod_states  # noqa: PLC0415
    from floe_lab.control import lab_info, lab_memory, status_rows  # noqa: PLC0415

    state_dir = lab_state_dir(state)
    info = lab_info(state_dir)
    rows = status_rows(state_dir)
    if info is None:
        _leftovers(state_dir, rows)
        raise _error(f"no lab running in {state_dir} (start one with `floe-agents lab up`)")
    table = Table(title=f"lab {info.scenario} in {state_dir}")
    for col in ("process", "pid", "alive", "ports", "RSS MB"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], str(r["pid"]), "yes" if r["alive"] else "NO", str(r["ports"]), str(r["rss_mb"]))
    console = Console(width=None if sys.stdout.isatty() else 140)
    console.print(table)
    whole = lab_memory(state_dir)
    console.print(
        f"lab memory: RSS {whole.rss_bytes / 2**20:.0f} MB, PSS {whole.pss_bytes / 2**20:.0f} MB "
        f"({whole.processes} processes, each counted once)"
    )
    console.print(f"kubeconfig (kubectl): {info.kubeconfig or 'none (a lab started before kubeconfigs)'}")
    token = _token(Path(info.targets))
    namespace = LabNames.load(state_dir).namespace
    try:
        pods = anyio.run(pod_states, info.api_url, token, namespace)
    except Exception as exc:
        console.print(f"Kubernetes API unreachable: {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    ptable = Table(title=f"pods (namespace {namespace})")
    for col in ("pod", "phase", "ready", "stuck"):
        ptable.add_column(col)
    for name, (phase, ready, stuck) in sorted(pods.items()):
        ptable.add_row(name, phase, "yes" if ready else "no", stuck or "")
    console.print(ptable)


def _leftovers(state_dir: Path, rows: list[dict[str, object]]) -> None:
    """No ``lab.json``, but an interrupted ``lab up`` may have left processes: list them and say how to stop them."""
    from floe_lab import procs  # noqa: PLC0415

    pids = procs.leftover_pids(state_dir)
    if not rows and not pids:
        return
    table = Table(title=f"left behind by an interrupted `lab up` in {state_dir}")
    for col in ("process", "pid", "alive", "ports"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["name"]), str(r["pid"]), "yes" if r["alive"] else "NO", str(r["ports"]))
    Console(width=None if sys.stdout.isatty() else 140).print(table)
    raise _error(
        f"no complete lab in {state_dir}, but an interrupted `lab up` left {len(rows)} recorded servers "
        f"and {len(pids)} live processes; `floe-agents lab down --state {state_dir}` stops them"
    )


def _token(targets: Path) -> str:
    import yaml  # noqa: PLC0415

    return str(yaml.safe_load(targets.read_text())["kubernetes"]["token"])


@lab_app.command("down")
def down_command(state: StateOpt = None) -> None:
    """Stop every process the lab started (by PID) and check that nothing is left listening."""
    import anyio  # noqa: PLC0415

    from floe_lab.control import LabError, lab_down  # noqa: PLC0415

    state_dir = lab_state_dir(state)
    try:
        still_open = anyio.run(lab_down, state_dir, _say)
    except LabError as exc:
        raise _error(str(exc)) from None
    if still_open:
        raise _error(f"ports still listening after lab down: {still_open}")
    sys.stderr.write("floe-agents: lab stopped; nothing left listening\n")


def _exit_code(command: Callable[[], None]) -> int:
    """Run a CLI command function in-process and return the exit code it ends with."""
    try:
        command()
    except typer.Exit as done:
        return int(done.exit_code)
    return 0


def demo_command(
    scenario: Annotated[str, typer.Option("--scenario", "-s", help="Lab scenario to diagnose.")] = "seed",
    report: Annotated[Path, typer.Option("--report", "-o", help="Where to write the report.")] = Path(
        "floe-agents-report.md"
    ),
    state: StateOpt = None,
    down: Annotated[bool, typer.Option("--down", help="Stop the lab at the end.")] = False,
    heal: Annotated[
        bool, typer.Option("--heal/--no-heal", help="After the investigation, heal the lab and investigate again.")
    ] = True,
) -> None:
    """Bring the lab up with the seed report's faults, investigate it, heal it, and investigate it again."""
    from floe_agents.cli.heal import heal_command  # noqa: PLC0415
    from floe_agents.cli.investigate import investigate_command  # noqa: PLC0415
    from floe_lab.control import lab_info  # noqa: PLC0415

    state_dir = lab_state_dir(state)
    info = lab_info(state_dir)
    if info is not None and info.scenario != scenario:
        raise _error(
            f"a lab with scenario {info.scenario} is running in {state_dir}; "
            "`floe-agents lab down` first, or pass --scenario " + info.scenario
        )
    if info is None:
        _up(state_dir, scenario)
    else:
        sys.stderr.write(f"floe-agents: reusing the running lab (scenario {scenario})\n")
    target = str(state_dir / "targets.yaml")
    code = _exit_code(lambda: investigate_command(target=target, report=report))
    written = [("diagnosis", report)]
    if heal and code not in {0, 3}:
        heal_report = report.with_name(f"{report.stem}-heal{report.suffix}")
        after_report = report.with_name(f"{report.stem}-after{report.suffix}")
        healed = _exit_code(lambda: heal_command(yes=True, target=target, report=heal_report))
        written.append(("heal", heal_report))
        if healed != 3:
            code = _exit_code(lambda: investigate_command(target=target, report=after_report))
            written.append(("after heal", after_report))
        else:
            code = healed
    for what, path in written:
        sys.stdout.write(f"{what}: {path.resolve()}\n")
    if down:
        down_command(state=state_dir)
    else:
        sys.stdout.write("the lab is still running (`floe-agents lab status`); `floe-agents lab down` stops it\n")
    raise typer.Exit(code)
