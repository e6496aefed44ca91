"""``k8s.create_secret``: create a Secret pods reference but nobody created, or add the keys it lacks.

Why from a declared source and never from a value in the playbook: the seed's missing Secret held a password the
platform already had elsewhere (the chart's ``floe-demo-credentials``), so the fix is to copy it from where it is
declared — another Secret's key (copied as the API stores it, base64, never decoded here), a file, or an
environment variable of the heal process. The value lives only in the step's closure: the plan shows the keys and
where each comes from, the Change shows key names before and after, nothing prints the value.

Narrowest change: an existing Secret gets a strategic-merge patch adding only the missing keys (conditional on
the resourceVersion the plan read, so a Secret changed since is a conflict, not an overwrite); a missing one is
created with only the keys asked for. Every write is first sent as a server-side dry run (``dryRun=All``:
admission, validation and quota run, nothing is stored), and a refused dry run stops the step before it writes.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.remediation import Action, Change, Params, Step, remediation
from floe_agents.remediations._kube import Json, Kube

__all__ = ["CreateSecretParams", "SecretSource", "spec"]

MAX_SECRET_BYTES = 1024 * 1024  # the API server's limit for a Secret's data


class SecretSource(Params):
    """Where the values come from: exactly one of another Secret (in the same namespace), a file, an env var."""

    secret: str | None = Field(None, description="Another Secret in the namespace, e.g. floe-demo-credentials.")
    key: str | None = Field(None, description="Its key; default: the same key as the one being created.")
    file: Path | None = Field(None, description="A file whose bytes are the value (one key only).")
    env: str | None = Field(None, description="An environment variable of the heal process (one key only).")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretSource:
        given = [n for n in ("secret", "file", "env") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of secret, file, env (got {', '.join(given) or 'none'})")
        if self.key and not self.secret:
            raise ValueError("key names a key of the source Secret: it needs secret")
        return self

    def describe(self, key: str) -> str:
        if self.secret:
            return f"<from Secret {self.secret} key {self.key or key}>"
        return f"<from file {self.file}>" if self.file else f"<from env ${self.env}>"


def _tuple(value: object) -> object:
    return (value,) if isinstance(value, str) else value


class CreateSecretParams(Params):
    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1, description="The Secret pods reference (the cause's evidence.secret_name).")
    keys: Annotated[tuple[str, ...], BeforeValidator(_tuple)] = Field(min_length=1)
    source: SecretSource
    type: str = "Opaque"


async def _values(kube: Kube, p: CreateSecretParams, keys: list[str]) -> dict[str, str]:
    """The base64 value of each of ``keys`` from the source; RemediationError when the source lacks one."""
    src = p.source
    if len(keys) > 1 and (src.file or src.env or src.key):
        raise RemediationError(f"{len(keys)} keys missing ({', '.join(keys)}) but the source gives one value")
    if src.secret:
        what = f"Secret {p.namespace}/{src.secret}"
        raw = await kube.call(kube.core.read_namespaced_secret, src.secret, p.namespace, verb="get", what=what,
                              missing_ok=True)  # fmt: skip
        if not raw:
            raise RemediationError(f"the source {what} does not exist")
        data = raw.get("data") or {}
        out = {k: data.get(src.key or k) for k in keys}
        lacking = sorted(src.key or k for k, v in out.items() if not isinstance(v, str) or not v)
        if lacking:
            raise RemediationError(f"the source {what} has no key {', '.join(lacking)}")
        return {k: str(v) for k, v in out.items()}
    if src.file:
        try:
            content = src.file.read_bytes()
        except OSError as exc:
            raise RemediationError(f"cannot read the source file {src.file}: {exc.strerror}") from None
        if not content or len(content) > MAX_SECRET_BYTES:
            raise RemediationError(f"the source file {src.file} is empty or larger than {MAX_SECRET_BYTES} bytes")
    else:
        value = os.environ.get(str(src.env))
        if not value:
            raise RemediationError(f"the source environment variable {src.env} is not set")
        content = value.encode()
    return {k: base64.b64encode(content).decode() for k in keys}


def _step(kube: Kube, p: CreateSecretParams, existing: Json, values: dict[str, str]) -> Step:
    """The write; the shown body holds, for each key, where its value comes from (never the value)."""
    ns, name = p.namespace, p.name
    what = f"Secret {ns}/{name}"
    before_keys = sorted((existing.get("data") or {}).keys())
    shown = {k: p.source.describe(k) for k in sorted(values)}
    if existing:
        version = (existing.get("metadata") or {}).get("resourceVersion")
        body: Json = {"metadata": {"resourceVersion": version}, "data": values}
        removals = ",".join(f'{{"op":"remove","path":"/data/{k}"}}' for k in sorted(values))
        action = Action(
            kind="kubernetes", verb="patch", target=what,
            summary=f"add key(s) {', '.join(sorted(values))} to {what} from {p.source.describe('…')}",
            body={"data": shown}, undo=f"kubectl -n {ns} patch secret {name} --type=json -p '[{removals}]'",
        )  # fmt: skip
    else:
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "type": p.type,
                "data": values}  # fmt: skip
        action = Action(
            kind="kubernetes", verb="create", target=what,
            summary=f"create {what} with key(s) {', '.join(sorted(values))}",
            body={**body, "data": shown}, undo=f"kubectl -n {ns} delete secret {name}",
        )  # fmt: skip

    async def run() -> Change:
        if existing:
            call: Any = kube.core.patch_namespaced_secret
            args: tuple[Any, ...] = (name, ns, body)
        else:
            call, args = kube.core.create_namespaced_secret, (ns, body)
        try:
            await kube.call(call, *args, verb=action.verb, what=what, dry_run="All")
        except RemediationError as exc:
            raise RemediationError(f"server-side dry run refused: {exc}") from None
        written = await kube.call(call, *args, verb=action.verb, what=what)
        after = sorted((written.get("data") or {}).keys())
        return Change(action=action, before={"exists": bool(existing), "keys": before_keys},
                      after={"exists": True, "keys": after})  # fmt: skip

    return Step(action=action, run=run)


@remediation(
    "k8s.create_secret",
    params=CreateSecretParams,
    risk="low",
    permissions=[("get", "secrets"), ("create", "secrets"), ("patch", "secrets")],
)
async def spec(ctx: HealContext, params: CreateSecretParams) -> list[Step]:
    """Create a missing Secret (or add its missing keys) from another Secret, a file or an env var."""
    kube = Kube(ctx)
    what = f"Secret {params.namespace}/{params.name}"
    existing = await kube.call(kube.core.read_namespaced_secret, params.name, params.namespace, verb="get",
                               what=what, missing_ok=True)  # fmt: skip
    have = set((existing.get("data") or {}).keys())
    missing = [k for k in dict.fromkeys(params.keys) if k not in have]
    if not missing:
        return []
    return [_step(kube, params, existing, await _values(kube, params, missing))]
