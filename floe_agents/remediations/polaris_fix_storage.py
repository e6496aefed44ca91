"""polaris.fix_storage_config: make an existing catalog's storage config work where the catalog runs.

Why: the catalog uses its ``storageConfigInfo`` for its own S3 I/O and hands its ``endpoint`` to every client
(pyiceberg lets the catalog's ``s3.endpoint`` win over its own), so a laptop-only host, a wrong port or
virtual-host addressing against an S3-compatible store breaks every table write and read (rule
``storage-endpoint-mismatch``); and a ``roleArn`` without ``stsUnavailable`` makes it call STS AssumeRole before
every table access, which fails where there is no STS (rule ``credential-vending-failure``). The fix is one
``PUT /api/management/v1/catalogs/{name}`` with ``currentEntityVersion`` and the corrected storage config: the
endpoint platform.yaml declares (the in-cluster one), path-style access, and — for an S3-compatible endpoint —
no ``roleArn``/``stsEndpoint`` and ``stsUnavailable: true``. Fields we do not fix are sent back unchanged. A
stale version (409: someone changed the catalog since we read it) is re-read and re-planned once, never forced.
"""

from __future__ import annotations

from pydantic import Field

from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.remediation import Action, Change, Step, remediation
from floe_agents.remediations._polaris import (
    CatalogParams,
    ManagementCatalog,
    Polaris,
    Resolved,
    StorageConfig,
    expect,
    read,
    resolve,
)

__all__ = ["FixStorageParams", "desired_storage", "spec"]


class FixStorageParams(CatalogParams):
    sts_unavailable: bool = Field(
        default=True,
        description="With an S3-compatible endpoint, vend no STS credentials: drop roleArn, set stsUnavailable.",
    )


def desired_storage(current: StorageConfig, cat: Resolved, sts_unavailable: bool) -> StorageConfig:
    """``current`` with what platform.yaml says fixed; everything else as it was."""
    changes: dict[str, object] = {}
    if cat.endpoint:
        changes.update(endpoint=cat.endpoint, path_style_access=True)
        if current.endpoint_internal and current.endpoint_internal != cat.endpoint:
            changes["endpoint_internal"] = cat.endpoint  # what the catalog itself uses must resolve too
        if sts_unavailable and (current.role_arn or current.sts_endpoint or current.sts_unavailable is not True):
            changes.update(role_arn=None, sts_endpoint=None, sts_unavailable=True)
    elif cat.path_style_access and current.path_style_access is not True:
        changes["path_style_access"] = True
    return current.model_copy(update=changes)


async def _read(pol: Polaris, warehouse: str) -> ManagementCatalog:
    found = await pol.catalog(warehouse)
    if found is None:
        raise RemediationError(f"catalog {warehouse} does not exist (create it first: polaris.create_catalog)")
    return found


def _body(found: ManagementCatalog, storage: StorageConfig) -> dict[str, object]:
    return {"currentEntityVersion": found.entity_version, "storageConfigInfo": storage.body()}


@remediation("polaris.fix_storage_config", params=FixStorageParams, risk="medium")
async def spec(ctx: HealContext, params: FixStorageParams) -> list[Step]:
    """Set an existing catalog's S3 endpoint, path-style access and STS settings to what platform.yaml needs."""
    cat = resolve(params)
    pol = Polaris.of(ctx, cat)
    found = await _read(pol, cat.warehouse)
    current = found.storage_config_info
    wanted = desired_storage(current, cat, params.sts_unavailable)
    if wanted.body() == current.body():
        return []
    url = pol.management("catalogs", cat.warehouse)
    before = ctx.mask(current.body())
    changed = sorted(k for k, v in wanted.body().items() if current.body().get(k) != v)
    dropped = sorted(k for k in current.body() if k not in wanted.body())
    what = ", ".join([*changed, *(f"drop {k}" for k in dropped)])
    action = Action(
        kind="http",
        verb="update",
        target=f"PUT {url}",
        summary=f"fix catalog {cat.warehouse} storageConfigInfo: {what}",
        body=ctx.mask(_body(found, wanted)),
        undo=f"PUT {url.path} with the storageConfigInfo in 'before' and the then current entityVersion",
    )

    async def run() -> Change:
        latest = found
        for attempt in range(2):
            body = _body(latest, desired_storage(latest.storage_config_info, cat, params.sts_unavailable))
            ans = await pol.call("PUT", url, body)
            if ans.status_code == 409 and attempt == 0:  # stale entityVersion: re-read, re-plan once
                latest = await _read(pol, cat.warehouse)
                again = desired_storage(latest.storage_config_info, cat, params.sts_unavailable)
                if again.body() == latest.storage_config_info.body():
                    return Change(action=action, before=before, after="already fixed by someone else: nothing sent")
                continue
            expect(ans, f"PUT catalog {cat.warehouse}", 200)
            after = read(ans, ManagementCatalog, f"PUT catalog {cat.warehouse}").storage_config_info.body()
            prior = ctx.mask(latest.storage_config_info.body())  # the state our PUT replaced (re-read after a 409)
            return Change(action=action, before=prior, after=ctx.mask(after))
        raise RemediationError(f"catalog {cat.warehouse} changed twice while we updated it (409): not forced")

    return [Step(action=action, run=run)]
