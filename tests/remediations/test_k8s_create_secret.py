"""k8s.create_secret against the missing-secret lab: the playbook's parameters filled from the diagnosed cause,
a plan that changes nothing, a run that creates the Secret from floe-demo-credentials (server-side dry run first),
the fault gone on the server, and a second plan that is empty. Also: the other sources (env var, file), adding
a missing key to an existing Secret, and a write the server refuses at the dry run (nothing written)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.probes.kubernetes import kubernetes
from floe_agents.remediations._kube import Kube
from floe_agents.remediations.k8s_create_secret import spec as create_secret
from floe_agents.remediations.k8s_rollout_restart import spec as rollout_restart
from tests.remediations.conftest import FillStep
from tests.support.lab import NS, LabHandle, probe_findings

READERS = ("dagster-webserver", "daemon")  # the Deployments whose pods reference the missing Secret
pytestmark = [
    pytest.mark.lab,
    pytest.mark.anyio,
    pytest.mark.parametrize("lab", ["missing-secret"], indirect=True),
    pytest.mark.timeout(900),  # the module's lab comes up and down inside its tests' setup and teardown
]


async def _secret(ctx: HealContext, name: str) -> dict[str, Any]:
    kube = Kube(ctx)
    return await kube.call(kube.core.read_namespaced_secret, name, NS, verb="get", what="Secret", missing_ok=True)


async def _delete(ctx: HealContext, name: str) -> None:
    kube = Kube(ctx)
    await kube.call(kube.core.delete_namespaced_secret, name, NS, verb="delete", what="Secret", missing_ok=True)


async def test_creates_the_missing_secret_from_the_credentials_secret(
    lab: LabHandle, heal_ctx: HealContext, fill_step: FillStep
) -> None:
    diagnosis = await probe_findings(lab, kubernetes)
    cause = next(c for c in diagnosis.analysis.root_causes if c.rule == "missing-secret")
    name, key = cause.cause.evidence["secret_name"], cause.cause.evidence["key"]
    assert await _secret(heal_ctx, str(name)) == {}  # the module's own lab: as the scenario left it
    params = create_secret.parse(fill_step("create-missing-secret", 0, cause.cause.evidence))
    assert (params.name, params.keys, params.source.secret) == (name, (key,), "floe-demo-credentials")

    [step] = await create_secret.plan(heal_ctx, params)
    assert (step.action.verb, step.action.target) == ("create", f"Secret {NS}/{name}")
    assert step.action.body["data"] == {key: f"<from Secret floe-demo-credentials key {key}>"}  # type: ignore[index,call-overload]
    value = lab.secret("floe-demo-credentials", str(key))
    assert value not in json.dumps(step.action.model_dump(mode="json"))
    assert await _secret(heal_ctx, str(name)) == {}  # planning wrote nothing

    # The workloads stuck on it plan a restart (their pods are not Ready because of it); planning restarts nothing.
    restart = rollout_restart.parse(fill_step("create-missing-secret", 1, cause.cause.evidence))
    planned = await rollout_restart.plan(heal_ctx, restart)
    assert {s.action.target for s in planned} == {f"Deployment {NS}/floe-dagster-{n}" for n in READERS}

    change = await step.run()
    assert change.before == {"exists": False, "keys": []}
    assert change.after == {"exists": True, "keys": [key]}
    assert value not in json.dumps(change.model_dump(mode="json"))
    assert lab.secret(str(name), str(key)) == value  # the fault is gone on the server
    assert await create_secret.plan(heal_ctx, params) == ()


async def test_adds_only_the_missing_key_from_an_env_var(
    heal_ctx: HealContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube = Kube(heal_ctx)
    await _delete(heal_ctx, "heal-test-partial")
    body = {"metadata": {"name": "heal-test-partial"}, "stringData": {"kept": "old"}}
    await kube.call(kube.core.create_namespaced_secret, NS, body, verb="create", what="Secret")
    monkeypatch.setenv("HEAL_TEST_VALUE", "from-the-env-0123")
    raw = {
        "namespace": NS,
        "name": "heal-test-partial",
        "keys": ["kept", "added"],
        "source": {"env": "HEAL_TEST_VALUE"},
    }
    with pytest.raises(RemediationError, match="2 keys missing"):  # one env value cannot fill two keys
        await create_secret.plan(heal_ctx, create_secret.parse({**raw, "keys": ["a", "b"]}))
    assert await create_secret.plan(heal_ctx, create_secret.parse({**raw, "keys": ["kept"]})) == ()  # present
    params = create_secret.parse(raw)
    [step] = await create_secret.plan(heal_ctx, params)  # only the missing key
    assert step.action.verb == "patch"
    assert "from-the-env-0123" not in json.dumps(step.action.model_dump(mode="json"))
    change = await step.run()
    assert change.before == {"exists": True, "keys": ["kept"]}
    assert change.after == {"exists": True, "keys": ["added", "kept"]}
    got = await _secret(heal_ctx, "heal-test-partial")
    assert sorted(got["data"]) == ["added", "kept"]
    assert await create_secret.plan(heal_ctx, params) == ()
    await _delete(heal_ctx, "heal-test-partial")


async def test_file_source_and_a_write_refused_at_the_dry_run(heal_ctx: HealContext, tmp_path: Path) -> None:
    source = tmp_path / "value"
    source.write_bytes(b"file-value-4567")
    params = create_secret.parse(
        {"namespace": NS, "name": "heal-test-file", "keys": "token", "source": {"file": str(source)}}
    )
    await _delete(heal_ctx, "heal-test-file")
    [step] = await create_secret.plan(heal_ctx, params)
    await step.run()
    assert (await _secret(heal_ctx, "heal-test-file"))["data"] == {"token": "ZmlsZS12YWx1ZS00NTY3"}
    assert await create_secret.plan(heal_ctx, params) == ()
    await _delete(heal_ctx, "heal-test-file")

    bad = params.model_copy(update={"name": "Not_A_DNS_Name"})  # the API server refuses it (422)
    [step] = await create_secret.plan(heal_ctx, bad)
    with pytest.raises(RemediationError, match="server-side dry run refused"):
        await step.run()
    assert await _secret(heal_ctx, "Not_A_DNS_Name") == {}

    missing = params.model_copy(update={"source": params.source.model_copy(update={"file": tmp_path / "none"})})
    with pytest.raises(RemediationError, match="cannot read the source file"):
        await create_secret.plan(heal_ctx, missing)
