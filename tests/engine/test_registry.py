"""The declaration API: what ``@probe``/``@follow_up`` store, and what the registry gathers from them."""

from __future__ import annotations

import pytest

from floe_agents.config import default_targets
from floe_agents.context import ProbeContext, Services
from floe_agents.declarations import ENGINE_CODES
from floe_agents.findings import Code, Finding, Status
from floe_agents.redact import REDACTED
from floe_agents.registry import Credential, Registry, follow_up, probe
from floe_agents.transport import run_client

TOKEN = Credential("acme_token", env="ACME_TOKEN", description="the Acme API token")
REGION = Credential("acme_region", default="eu-1", secret=False)


@probe(
    "acme",
    components=("acme",),
    codes={"acme.ok": "ok: Acme answers", "acme.down": "fail: Acme does not answer"},
    credentials=(TOKEN, REGION),
    secret_evidence=("dsn",),
    public_evidence=("token_type",),
)
async def acme(ctx: ProbeContext) -> list[Finding]:
    """Acme answers."""
    return [ctx.finding(Status.OK, "acme.ok", "fine", evidence={"dsn": "acme://x", "token_type": "bearer"})]


@follow_up("acme_why", on=("acme.down",), codes={"acme.why": "unknown: why Acme is down"}, credentials=(TOKEN,))
async def acme_why(ctx: ProbeContext, trigger: Finding) -> list[Finding]:
    return []


def test_the_decorators_store_every_declaration_on_the_frozen_spec() -> None:
    assert dict(acme.codes) == {"acme.ok": "ok: Acme answers", "acme.down": "fail: Acme does not answer"}
    assert acme.credentials == (TOKEN, REGION)
    assert acme.evidence_keys.secret == {"dsn"} and acme.evidence_keys.public == {"token_type"}
    assert acme.description == "Acme answers."
    assert acme_why.kind == "follow_up" and set(acme_why.codes) == {"acme.why"}
    with pytest.raises(TypeError):
        acme.codes["acme.new"] = "x"  # type: ignore[index]  # read-only: a spec never changes after declaration
    with pytest.raises(AttributeError):
        acme.credentials = ()  # type: ignore[misc]


def test_the_registry_gathers_codes_with_the_engines_and_credentials_by_name() -> None:
    decl = Registry.of([acme, acme_why]).declarations()
    assert {"acme.ok", "acme.down", "acme.why"} <= set(decl.codes)
    assert all(decl.codes[c] == meaning for c, meaning in ENGINE_CODES.items())
    assert Code.TCP_REFUSED in decl.codes  # the engine's vocabulary is always declared
    assert decl.credentials == {"acme_token": TOKEN, "acme_region": REGION}
    assert decl.public_credentials == {"acme_region"}
    assert decl.evidence_keys("acme").secret == {"dsn"}
    assert decl.evidence_keys("unknown-probe").secret == frozenset()


def test_a_credential_resolves_from_the_targets_file_then_its_env_var_then_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decl = Registry.of([acme]).declarations()
    monkeypatch.delenv("ACME_TOKEN", raising=False)
    assert decl.credential("acme_token", {}) is None
    assert decl.credential("acme_region", {}) == "eu-1"
    monkeypatch.setenv("ACME_TOKEN", "from-env")
    assert decl.credential("acme_token", {}) == "from-env"
    assert decl.credential("acme_token", {"acme_token": "from-file"}) == "from-file"
    assert decl.credential("undeclared", {"undeclared": "written"}) == "written"
    assert decl.credential("undeclared", {}) is None


async def test_a_probes_findings_are_redacted_with_its_declared_evidence_keys() -> None:
    decl = Registry.of([acme]).declarations()
    async with run_client(None) as http:
        services = Services(http=http, resolvers={}, declarations=decl)
        ctx = ProbeContext(component="acme", check="acme", targets=default_targets(), services=services)
        result = await acme.invoke(ctx)
        assert isinstance(result, list)
        found = result[0]
        assert found.evidence == {"dsn": REDACTED, "token_type": "bearer"}
        other = ctx.for_check("not-acme").finding(Status.OK, "x.y", "s", evidence={"dsn": "a", "token_type": "b"})
        assert other.evidence == {"dsn": "a", "token_type": REDACTED}  # only acme declared those keys
