"""A missing Secret key names where its value already lives: the other Secrets the pods read that hold the same
key (a chart's shared credentials Secret, under whatever name the release gave it), so heal copies from there
instead of from a name written into the playbook."""

from __future__ import annotations

from typing import Any

from floe_agents.findings import Finding, Status
from floe_agents.probes._kube_refs import Stores, reference_obs
from floe_agents.probes._models.kube import Pod


def pod(name: str, *env: tuple[str, str, str], env_from: str | None = None) -> Pod:
    container: dict[str, Any] = {
        "name": "main",
        "env": [{"name": var, "valueFrom": {"secretKeyRef": {"name": ref, "key": key}}} for var, ref, key in env],
        "envFrom": [{"secretRef": {"name": env_from}}] if env_from else [],
    }
    return Pod.model_validate({"metadata": {"name": name, "labels": {"app.kubernetes.io/component": "api"}},
                               "spec": {"containers": [container]}, "status": {"phase": "Pending"}})  # fmt: skip


STORES = Stores(
    keys={"secret": {"acme-demo-credentials": frozenset({"postgresql-password", "aws-access-key-id"}),
                     "acme-backup": frozenset({"postgresql-password"}), "acme-tls": frozenset({"tls.crt"})}},
    missing={"secret": frozenset({"acme-dagster-postgresql-secret", "acme-extra"})},
)  # fmt: skip


def evidence(*pods: Pod) -> dict[str, dict[str, Any]]:
    return {v.subject: dict(v.evidence) for v in reference_obs(list(pods), STORES, lambda _: "web")}


def test_the_secrets_holding_the_missing_key_are_named_first_by_name() -> None:
    found = evidence(pod("web-1", ("PGPASSWORD", "acme-dagster-postgresql-secret", "postgresql-password")))
    ev = found["secret/acme-dagster-postgresql-secret/postgresql-password"]
    assert (ev["source_secret_name"], ev["source_candidates"]) == (
        "acme-backup",
        ["acme-backup", "acme-demo-credentials"],
    )


def test_a_secret_lacking_a_key_is_never_its_own_source() -> None:
    found = evidence(pod("web-1", ("TOKEN", "acme-demo-credentials", "lineage-token")))
    ev = found["secret/acme-demo-credentials/lineage-token"]
    assert (ev["source_secret_name"], ev["source_candidates"], ev["exists"]) == (None, [], True)


def test_a_whole_secret_reference_has_no_source() -> None:
    found = evidence(pod("web-1", env_from="acme-extra"))
    assert (found["secret/acme-extra/*"]["source_secret_name"], found["secret/acme-extra/*"]["source_candidates"]) == (
        None,
        [],
    )


def test_the_source_name_survives_redaction_at_birth() -> None:
    """Evidence is redacted as a finding is born: a key that reads like a secret would lose the name heal needs."""
    [verdict] = reference_obs([pod("web-1", ("PGPASSWORD", "acme-dagster-postgresql-secret", "postgresql-password"))],
                              STORES, lambda _: "web")  # fmt: skip
    finding = Finding(component="web", check="kubernetes", status=Status.FAIL, code=verdict.code,
                      summary=verdict.summary, evidence=dict(verdict.evidence))  # fmt: skip
    assert finding.evidence["source_secret_name"] == "acme-backup"
