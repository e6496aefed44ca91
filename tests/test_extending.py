"""A third-party plugin installed with pip is found and run: the sample package ``examples/floe-agents-acme``.

docs/extending.md promises that a package adds a probe and a rule through entry points alone: no fork, no
``--rules``, nothing edited in floe-agents. Only a real install can show that, so this test builds the sample
package and installs it with floe-agents into a fresh venv (which imports the rest of ``.venv``'s packages but
installs nothing there), then runs that venv's ``floe-agents``: ``probes`` must list the plugin's probe and codes,
and ``investigate --only acme`` against a small API on loopback must report the plugin's finding and the root
cause its rule names. The sample's own tests run in the same venv, as its author would run them.
"""

from __future__ import annotations

import json
import os
import site
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
from aiohttp import web

from tests.support.net import serve
from tests.support.venv import Venv, make_venv, run

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "floe-agents-acme"
TOKEN = "acme-t0ken-of-this-test"  # the loopback API's token, made up for the test
CODES = (
    "acme.quota_ok",
    "acme.quota_low",
    "acme.quota_exhausted",
    "acme.unreachable",
    "acme.auth_failed",
    "acme.bad_answer",
)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    """floe-agents (editable, for its ``floe-agents`` command) and the sample plugin, in a fresh venv; the
    project's own environment is the same afterwards."""
    ours = [Path(p) for p in site.getsitepackages() if Path(p).is_dir()]
    before = {p.name for folder in ours for p in folder.iterdir()}
    venv = make_venv(tmp_path_factory.mktemp("extending") / "venv", sees_project=True)
    venv.install("--editable", ROOT, SAMPLE)
    yield venv
    assert {p.name for folder in ours for p in folder.iterdir()} == before, "installed into the project's venv"


@pytest.fixture
async def acme_api() -> AsyncIterator[str]:
    """The ACME API of an account whose daily quota is used up (and 401 without the test's token)."""

    async def quota(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response(
            {"account": "floe-prod", "used": 5000, "limit": 5000, "resets_at": "2030-01-01T00:00:00Z"}
        )

    app = web.Application()
    app.router.add_get("/{path:.*}", quota)
    async with serve(app) as base:
        yield base


def test_floe_agents_probes_lists_the_plugins_probe_and_codes(venv: Venv) -> None:
    out = run(venv.bin / "floe-agents", "probes").stdout
    assert "acme_quota" in out
    missing = [code for code in CODES if code not in out]
    assert not missing, f"codes not listed: {missing}\n{out}"
    assert "load error" not in out, out


async def test_an_investigation_reports_the_plugins_finding_and_its_rules_root_cause(
    venv: Venv, acme_api: str, tmp_path: Path
) -> None:
    targets = tmp_path / "targets.yaml"
    component = {"depends_on": [], "endpoints": {"api": {"urls": {"local": acme_api}}}}
    # The token in the targets file, under the name the plugin declares: the engine knows nothing of it.
    data = {"components": {"acme": component}, "credentials": {"acme_token": TOKEN}}
    targets.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML
    with anyio.fail_after(60):  # the API answers from this event loop: the command runs without blocking it
        command: list[str | Path] = ["investigate", "--target", targets, "--only", "acme", "--json", "--timeout", "15"]
        done = await anyio.run_process(
            [venv.bin / "floe-agents", *command],
            env={k: v for k, v in os.environ.items() if k != "ACME_TOKEN"},
            check=False,
        )
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 2, stderr  # failures found
    report = json.loads(stdout)
    [finding] = [f for f in report["findings"] if f["check"] == "acme_quota"]
    assert (finding["code"], finding["status"], finding["subject"]) == ("acme.quota_exhausted", "fail", "floe-prod")
    [cause] = report["root_causes"]
    assert cause["rule"] == "acme-quota-exhausted"
    assert cause["title"] == "ACME account floe-prod has used up its daily quota"
    assert any("above 5000" in step for step in cause["remediation"]["manual"]), cause["remediation"]
    assert TOKEN not in stdout + stderr


def test_the_samples_own_tests_pass_where_it_is_installed(venv: Venv) -> None:
    # Only the pytest plugin they use (anyio): loading every plugin .venv has would double this test's time.
    pytest_args = ("-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "anyio", SAMPLE / "tests")
    run(venv.python, *pytest_args, cwd=SAMPLE, env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
