"""The Dockerfile, checked without building it (no Docker daemon here): pinned, non-root, the CLI, no secret, and
everything the wheel is built from copied in.

Why statically: each property is a line of the file, and each has bitten someone — a base tag re-pushed under the
same name, a root user the cluster then refuses (``runAsNonRoot`` needs a numeric UID to prove it), a secret baked
into a layer through ENV/ARG, a package built without its playbooks because the COPY missed a folder the build
backend maps in (pyproject's force-include) or .dockerignore kept it out.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path
from typing import Any

from tests.deploy.kustomize import ROOT

Instruction = tuple[str, str]  # (INSTRUCTION, its arguments)
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|API_?KEY|ACCESS_KEY|PRIVATE", re.IGNORECASE)
PINNED = re.compile(r"^[\w./-]+:\d+\.\d+\.\d+[\w.-]*@sha256:[0-9a-f]{64}$")


def _instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    out: list[Instruction] = []
    current = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        current += " " + stripped.removesuffix("\\")
        if not stripped.endswith("\\"):
            word, _, rest = current.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            current = ""
    return out


def _stages() -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for ins in _instructions():
        if ins[0] == "FROM":
            stages.append([])
        stages[-1].append(ins)
    return stages


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_base_image_is_pinned_by_exact_version_and_digest() -> None:
    for stage in _stages():
        image = stage[0][1].split()[0]
        assert PINNED.match(image), f"FROM {image}: pin an exact version and its sha256 digest"


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = [args for name, args in _stages()[-1] if name == "USER"]
    assert users, "the final stage sets USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0, "a numeric UID other than 0 (Kubernetes checks runAsNonRoot by number)"
    assert not gid or (gid.isdigit() and int(gid) > 0)


def test_the_entrypoint_is_the_cli() -> None:
    entrypoints = [args for name, args in _stages()[-1] if name == "ENTRYPOINT"]
    argv = json.loads(entrypoints[-1])  # exec form: signals reach the CLI, not a shell
    scripts = _pyproject()["project"]["scripts"]
    assert scripts["floe-agents"] == "floe_agents.cli:main"
    assert len(argv) == 1 and Path(argv[0]).name == "floe-agents"


def test_no_env_or_arg_has_a_secret_like_name() -> None:
    for name, args in _instructions():
        if name in ("ENV", "ARG"):
            keys = re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)", args)
            secret = [k for k in keys if SECRET_NAME.search(k)]
            assert not secret, f"{name} {args}: a secret must arrive at run time, never in a layer"


def _copied() -> set[str]:
    """The context paths the build stages COPY (not ``--from`` another stage)."""
    out: set[str] = set()
    for name, args in _instructions():
        if name == "COPY" and "--from=" not in args:
            *sources, _ = args.split()
            out |= {s.rstrip("/") for s in sources if not s.startswith("--")}
    return out


def _ignored(path: str) -> bool:
    """Whether .dockerignore keeps ``path`` (relative, '/'-separated) out of the build context: the last pattern
    matching it or one of its parent folders decides, ``!`` lets it back in."""
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()]
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in (p for p in patterns if p and not p.startswith("#")):
        negate, pat = pattern.startswith("!"), pattern.removeprefix("!").rstrip("/")
        regex = fnmatch.translate(pat).replace(".*.*/", "(.*/)?")  # ** matches any folders, none included
        if any(re.match(regex, p) for p in prefixes):
            ignored = not negate
    return ignored


def test_the_build_copies_everything_the_wheel_is_built_from() -> None:
    project = _pyproject()
    wheel = project["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {"pyproject.toml", project["project"]["readme"], *wheel["packages"], *wheel["force-include"]}
    assert needed <= _copied(), f"COPY misses {sorted(needed - _copied())}"
    kept_out = sorted(p for p in needed if _ignored(p))
    assert not kept_out, f".dockerignore keeps out {kept_out}"


def test_the_package_data_reaches_the_image() -> None:
    """The rules, topology, probes and playbooks the CLI loads at run time are in copied folders and not ignored."""
    data = [
        "floe_agents/topology.yaml",
        *(str(p.relative_to(ROOT)) for p in (ROOT / "floe_agents" / "rules").glob("*.yaml")),
        *(str(p.relative_to(ROOT)) for p in (ROOT / "playbooks").glob("*.yaml")),
        *(str(p.relative_to(ROOT)) for p in (ROOT / "floe_agents" / "probes").glob("*.py")),
    ]
    assert len(data) > 10 and (ROOT / data[0]).is_file()
    copied = _copied()
    for path in data:
        assert any(path == c or path.startswith(c + "/") for c in copied), f"{path} is not copied"
        assert not _ignored(path), f".dockerignore keeps out {path}"


def test_the_context_leaves_out_local_state() -> None:
    for path in (".venv/bin/python", ".git/config", "tests/conftest.py", "floe_agents/__pycache__/x.pyc", ".env"):
        assert _ignored(path), f"{path} would be sent to the build"
