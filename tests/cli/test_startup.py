"""A fast start: what `floe-agents --help` (and a command's `--help`) imports, not how long it takes.

CI and CronJobs start the tool many times a day; importing ``kubernetes_asyncio`` alone once cost a second of
every start. Each case runs the real CLI entry point in a fresh interpreter and lists the modules it loaded.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap

import pytest

# Client libraries and servers: only a probe that talks to the component may load them, never a `--help`.
HEAVY = (
    "kubernetes_asyncio",
    "pyiceberg",
    "boto3",
    "botocore",
    "psycopg",
    "grpc",
    "aiohttp",
    "pyarrow",
    "dagster",
    "jwt",
    "cryptography",
)
# What the top-level help does not need either: the engine, its models and the file formats.
ENGINE = (
    "pydantic",
    "anyio",
    "yaml",
    "httpx",
    "structlog",
    "floe_agents.swarm",
    "floe_agents.runner",
    "floe_agents.config",
    "floe_agents.report",
    "floe_agents.registry",
    "floe_agents.cli.investigate",
    "floe_agents.cli.probes",
)

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.argv = ["floe-agents", *json.loads(sys.argv[1])]
    from floe_agents.cli import main
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    print("\\n@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
    """
)


def _env() -> dict[str, str]:
    keep = ("PATH", "HOME", "SYSTEMROOT", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(TERM="dumb", LC_ALL="C.UTF-8", COLUMNS="120")
    return env


def _start(*args: str) -> tuple[str, set[str]]:
    """Run the CLI with ``args`` in a fresh interpreter: (its stdout before the marker, the modules it loaded)."""
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(list(args))],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    out, _, tail = proc.stdout.rpartition("\n@@")
    assert tail, proc.stderr
    result = json.loads(tail)
    assert result["code"] in (0, None), (result["code"], proc.stderr)
    return out, set(result["modules"])


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("investigate", "--help"),
        ("heal", "--help"),
        ("playbooks", "--help"),
        ("probes", "--help"),
        ("schema", "--help"),
        ("lab", "--help"),
    ],
    ids=" ".join,
)
def test_help_loads_no_client_library(args: tuple[str, ...]) -> None:
    out, modules = _start(*args)
    assert "Usage:" in out
    assert _loaded(modules, HEAVY) == []


def test_top_level_help_loads_neither_the_engine_nor_the_commands() -> None:
    out, modules = _start("--help")
    assert _loaded(modules, ENGINE) == []
    for name in ("investigate", "probes", "schema", "lab", "demo"):
        assert f"  {name} " in out, out


def test_probes_help_loads_neither_the_registry_nor_the_probes() -> None:
    """(typer itself loads pydantic to build a command's parameters, so a command's help may.)"""
    _, modules = _start("probes", "--help")
    assert _loaded(modules, ("yaml", "httpx", "anyio", "floe_agents.registry", "floe_agents.probes")) == []


@pytest.mark.parametrize("command", ["investigate", "heal", "playbooks"])
def test_a_command_help_loads_no_engine(command: str) -> None:
    """A command's module only parses; its work (the engine, the clients, the file formats) loads when it runs.
    (typer itself loads pydantic to build a command's parameters.)"""
    _, modules = _start(command, "--help")
    assert _loaded(modules, tuple(n for n in ENGINE if n != "pydantic" and not n.startswith("floe_agents.cli."))) == []
    assert _loaded(modules, ("floe_agents.heal", "floe_agents.cli._investigating", "floe_agents.cli._healing")) == []


def test_a_command_help_is_the_real_command() -> None:
    """The stand-in in the top-level list becomes the real command: its options are all there."""
    out, _ = _start("investigate", "--help")
    assert "Usage: floe-agents investigate [OPTIONS]" in out
    for option in ("--config", "--target", "--report", "--json", "--only", "--skip", "--timeout", "--rules"):
        assert option in out, out


def test_the_listed_help_is_each_command_docstring() -> None:
    """The one line `--help` lists without importing a command is its docstring's, so the two never drift."""
    from floe_agents.cli import LAZY_COMMANDS, load_command  # noqa: PLC0415 - imports the commands on purpose

    for name, (_, line) in LAZY_COMMANDS.items():
        command = load_command(name)
        assert command.callback is not None
        assert line == inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " "), name


def test_investigate_loads_no_cluster_client_before_the_first_probe() -> None:
    """What `investigate` loads before its first probe runs (the command, the probes from their entry points)
    leaves the Kubernetes client (~1 s), psycopg with libpq (~75 ms) and PyJWT with cryptography (~40 ms, only Cube's
    probe signs) to the moment a probe first needs them."""
    script = textwrap.dedent(
        """
        import json, sys
        import floe_agents.cli.investigate
        from floe_agents.registry import Registry
        registry = Registry.from_entry_points()
        print(json.dumps({"errors": [str(e) for e in registry.load_errors], "modules": sorted(sys.modules)}))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(), timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["errors"] == []
    assert _loaded(set(result["modules"]), HEAVY) == []
