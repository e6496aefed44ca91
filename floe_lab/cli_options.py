"""The options of the lab's commands: where its state lives and the names its stack is deployed under.

Kept out of :mod:`floe_lab.cli` so that module stays about what the commands do. The name options default to
the upstream charts' names (:class:`floe_lab.names.LabNames`); ``lab up`` checks them before anything starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["BucketPrefixOpt", "NamespaceOpt", "ReleaseOpt", "StateOpt", "WarehouseOpt", "lab_state_dir"]

StateOpt = Annotated[
    Path | None,
    typer.Option("--state", help="Lab state folder (default: $FLOE_AGENTS_LAB_DIR or ~/.local/state/floe-agents/lab)."),
]
NamespaceOpt = Annotated[str, typer.Option("--namespace", help="Kubernetes namespace the stack is deployed into.")]
ReleaseOpt = Annotated[
    str,
    typer.Option("--release", help="Helm release name: releases <release>-infra, <release>-dagster, <release>-cube."),
]
WarehouseOpt = Annotated[str, typer.Option("--warehouse", help="Polaris catalog (warehouse) name.")]
BucketPrefixOpt = Annotated[
    str,
    typer.Option("--bucket-prefix", help="S3 layer buckets: <prefix>-bronze, <prefix>-silver, <prefix>-gold."),
]


def lab_state_dir(state: Path | None = None) -> Path:
    """The lab's state folder: ``--state``, else $FLOE_AGENTS_LAB_DIR, else under $XDG_STATE_HOME (~/.local/state)."""
    if state is not None:
        return state
    base = os.environ.get("FLOE_AGENTS_LAB_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "floe-agents", "lab"
    )
    return Path(base)
