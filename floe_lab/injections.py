"""Faults injected into a running lab through the Kubernetes API, one per file beside this module.

Why these besides the scenarios: a scenario is a state the lab is *built* in (the seed report's faults). What a
platform engineer meets is whatever breaks afterwards, done the way people break clusters: ``kubectl set env``,
``patch``, ``scale``. Each injection here is one such change, grouped by the fault class it stands for (issue 13:
why a workload does not run, config references, URLs, telemetry, components that stop), with the change that
undoes it and where its diagnosis must land. ``floe-agents lab inject NAME`` applies one to a running lab (``--undo``
reverts it), ``tests/lab/test_fault_classes.py`` proves the diagnosis of each on a lab started under other names,
and ``bench/unseen_faults.py`` measures the share diagnosed.

Names come from the lab's :class:`~floe_lab.names.LabNames` as ``$placeholders`` (``${user_code}``, ``${infra}``),
so an injection breaks the same thing under any namespace and release: nothing here assumes the charts' names.
"""

from __future__ import annotations

import json
import os
import shutil
import string
import subprocess
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from floe_agents.config.loading import ConfigError, load_yaml_model
from floe_lab.kubeconfig import KUBECONFIG_FILE
from floe_lab.names import LabNames

__all__ = [
    "CLASSES",
    "PLATFORM_STEP",
    "TARGETS_STEP",
    "Injection",
    "InjectionError",
    "injection_names",
    "kubectl",
    "load_injection",
    "make",
]

FaultClass = Literal["workload", "config-reference", "url", "telemetry", "stopped-component", "prefix", "cluster-api"]
CLASSES: tuple[str, ...] = FaultClass.__args__  # type: ignore[attr-defined]


PLATFORM_STEP = "platform"  # a step that sets a value in platform.yaml, not a kubectl call
TARGETS_STEP = "targets"  # a step that changes how floe-agents reaches the cluster (the targets file)
_WORKLOADS = ("deploy/", "deployment/", "statefulset/", "sts/")


class InjectionError(RuntimeError):
    """A step kubectl refused, or no kubectl to run it with; one line for the user."""


class Injection(BaseModel):
    """One fault: the kubectl steps that make it, the steps that undo it, and where its root cause must be."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    fault_class: FaultClass = Field(alias="class")
    description: str
    component: str  # the component the top root cause must be on
    rule: str | None = None  # the rule that must name it, when one is meant to (None: any, the fallback included)
    inject: tuple[tuple[str, ...], ...]
    undo: tuple[tuple[str, ...], ...]
    settle: tuple[str, ...] = ()  # workloads whose rollout must finish (kubectl rollout status), after each side
    # Undoing it does not bring back what the component held in memory (a LocalStack without persistence loses its
    # buckets): it runs after the others when several are run in a row.
    undo_loses_data: bool = False
    # The test suite makes one fault of each class on every run (a lab restart per fault costs the run minutes);
    # FLOE_TEST_ALL_INJECTIONS=1 and bench/unseen_faults.py make them all.
    every_run: bool = False

    def steps(self, names: LabNames, *, undo: bool = False) -> list[list[str]]:
        """The kubectl argument lists, with the lab's names filled in."""
        values = _placeholders(names)
        steps = self.undo if undo else self.inject
        return [[string.Template(arg).substitute(values) for arg in step] for step in steps]

    def settled(self, names: LabNames, *, undo: bool = False) -> list[str]:
        """The rollouts to wait for: after injecting, those ``settle`` names (a fault that leaves a rollout stuck
        is not waited for); after undoing, every workload a step names, so the next fault starts from a lab at
        rest."""
        values = _placeholders(names)
        if not undo:
            return [string.Template(target).substitute(values) for target in self.settle]
        named = [arg for step in self.steps(names, undo=True) for arg in step if arg.startswith(_WORKLOADS)]
        return list(dict.fromkeys(named))


Say = Callable[[str], None]


def make(fault: Injection, state_dir: Path, *, undo: bool = False, say: Say = lambda _: None) -> None:
    """Make ``fault`` in the lab of ``state_dir`` (or undo it), under the names it runs with, and wait for the
    rollouts it asks for. A step is kubectl's arguments, or ``[platform, <dotted.path>, <value>]``: platform.yaml
    changed where it is deployed (the platform ConfigMap) and where floe-agents reads it (the targets' file), or
    ``[targets, <dotted.path>, <value>]`` / ``[targets, restore]``: how floe-agents reaches the cluster."""
    names = LabNames.load(state_dir)
    kubeconfig = state_dir / KUBECONFIG_FILE
    for step in fault.steps(names, undo=undo):
        say(" ".join(step))
        if step[0] == PLATFORM_STEP:
            _set_platform(state_dir, kubeconfig, names, step[1], step[2])
        elif step[0] == TARGETS_STEP:
            _set_targets(state_dir, fault.name, step[1:])
        else:
            kubectl(kubeconfig, step)
    for target in fault.settled(names, undo=undo):
        say(f"rollout status {target}")
        kubectl(kubeconfig, ["rollout", "status", target, "--timeout=180s"])


def _set_platform(state_dir: Path, kubeconfig: Path, names: LabNames, path: str, value: str) -> None:
    file = state_dir / "platform.yaml"
    doc = yaml.safe_load(file.read_text())
    _set(doc, path, value)
    text = yaml.safe_dump(doc, sort_keys=False)
    file.write_text(text)
    patch = json.dumps({"data": {"platform.yaml": text}})
    kubectl(kubeconfig, ["patch", "configmap", f"{names.infra}-platform-config", "--type=merge", "-p", patch])


def _set_targets(state_dir: Path, fault: str, step: list[str]) -> None:
    """How floe-agents reaches the cluster, changed in the targets file (a kubeconfig whose token expired, an API
    address that moved); ``[targets, restore]`` puts back the file as it was before the fault."""
    file, backup = state_dir / "targets.yaml", state_dir / f"targets.yaml.before-{fault}"
    if step == ["restore"]:
        if backup.exists():
            backup.replace(file)
        return
    if not backup.exists():
        shutil.copy2(file, backup)  # keeps the file's mode: it holds the API token
    path, value = step
    doc = yaml.safe_load(file.read_text())
    _set(doc, path, value)
    file.write_text(yaml.safe_dump(doc, sort_keys=False))


def _set(doc: dict[str, object], path: str, value: str) -> None:
    *parents, leaf = path.split(".")
    node: dict[str, object] = doc
    for key in parents:
        child = node[key]
        if not isinstance(child, dict):
            raise InjectionError(f"{path}: {key} is no mapping")
        node = child
    node[leaf] = value


def _placeholders(names: LabNames) -> dict[str, str]:
    return {
        "namespace": names.namespace,
        "release": names.release,
        "infra": names.infra,
        "dagster": names.dagster,
        "cube": names.cube,
        "user_code": names.user_code,
        "code_location": names.code_location,
        "webserver": names.webserver,
        "warehouse": names.warehouse,
        "credentials_secret": names.credentials_secret,
        "service_name": names.service_name,
    }


def _folder() -> resources.abc.Traversable:
    return resources.files(__package__) / "injections"


def _files() -> list[str]:
    return sorted(p.name.removesuffix(".yaml") for p in _folder().iterdir() if p.name.endswith(".yaml"))


def injection_names() -> list[str]:
    """Every injection, in the order to run them one after another: those whose undo loses data last."""
    return sorted(_files(), key=lambda name: (load_injection(name).undo_loses_data, name))


def load_injection(name: str) -> Injection:
    if name not in _files():
        raise ConfigError(Path(name), f"unknown injection {name!r} (known: {', '.join(_files())})")
    with resources.as_file(_folder() / f"{name}.yaml") as path:
        return load_yaml_model(Injection, path)


def kubectl(kubeconfig: Path, args: list[str], *, timeout_s: float = 180) -> str:
    """Run one kubectl step against the lab (its own kubeconfig; loopback never through a proxy); its stdout, or
    :class:`InjectionError` with kubectl's own words."""
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    env["NO_PROXY"] = env["no_proxy"] = ",".join(filter(None, ["127.0.0.1,localhost", env.get("NO_PROXY")]))
    exe = shutil.which("kubectl")
    if exe is None:
        raise InjectionError("kubectl is not on PATH: install it to inject faults into the lab")
    try:
        done = subprocess.run(  # noqa: S603 - kubectl from PATH with arguments from this package's own files
            [exe, *args], capture_output=True, text=True, env=env, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise InjectionError(f"kubectl {' '.join(args[:3])} took more than {timeout_s:.0f} s") from None
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise InjectionError(f"kubectl {' '.join(args[:3])} failed: {said[-1] if said else f'exit {done.returncode}'}")
    return done.stdout
