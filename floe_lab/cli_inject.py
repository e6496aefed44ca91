"""``floe-agents lab injections`` and ``lab inject NAME [--undo]``: break a running lab the way people break clusters.

Kept apart from :mod:`floe_lab.cli` (start and stop) because it is a different job: one fault from
``floe_lab/injections`` at a time, through the real ``kubectl`` with the kubeconfig ``lab up`` wrote, under the names
the lab runs with. Then ``floe-agents investigate --target lab`` shows what floe-agents makes of it, and
``--undo`` puts the lab back.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from floe_lab.cli_options import StateOpt, lab_state_dir

__all__ = ["add_inject_commands"]


def add_inject_commands(app: typer.Typer) -> None:
    app.command("injections")(injections_command)
    app.command("inject")(inject_command)


def injections_command() -> None:
    """List the faults `lab inject` can make, by class, with where their root cause must be found."""
    from floe_lab.injections import injection_names, load_injection  # noqa: PLC0415

    for name in injection_names():
        fault = load_injection(name)
        where = f"{fault.rule or 'a root cause'} on {fault.component}"
        sys.stdout.write(f"{name:<34} {fault.fault_class:<18} {where}\n")


def _step(line: str) -> None:
    sys.stderr.write(f"  {line}\n")


def inject_command(
    name: Annotated[str, typer.Argument(help="The fault to inject (see `lab injections`).")],
    *,
    undo: Annotated[bool, typer.Option("--undo", help="Revert the fault instead.")] = False,
    state: StateOpt = None,
) -> None:
    """Inject one fault into the running lab with kubectl (or revert it with --undo), and wait for what it rolls out."""
    from floe_agents.config import ConfigError  # noqa: PLC0415
    from floe_lab.control import lab_info  # noqa: PLC0415
    from floe_lab.injections import InjectionError, load_injection, make  # noqa: PLC0415

    state_dir = lab_state_dir(state)
    try:
        fault = load_injection(name)
    except ConfigError as exc:
        sys.stderr.write(f"floe-agents: {exc}\n")
        raise typer.Exit(2) from None
    info = lab_info(state_dir)
    if info is None or not info.kubeconfig:
        sys.stderr.write(f"floe-agents: no lab running in {state_dir} (start one with `floe-agents lab up`)\n")
        raise typer.Exit(2)
    verb = "reverting" if undo else "injecting"
    sys.stderr.write(f"floe-agents: {verb} {fault.name}: {fault.description}\n")
    try:
        make(fault, state_dir, undo=undo, say=_step)
    except InjectionError as exc:
        sys.stderr.write(f"floe-agents: {exc}\n")
        raise typer.Exit(1) from None
    if not undo:
        sys.stderr.write(
            f"floe-agents: done; its root cause should be on {fault.component}: floe-agents investigate --target lab"
            f"{'' if state is None else ' (targets: ' + str(state_dir / 'targets.yaml') + ')'}\n"
        )
