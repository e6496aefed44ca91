"""polaris.create_catalog: create the platform's Polaris catalog, its catalog role, grants and role assignment.

Why: with no catalog (warehouse) every namespace and table under it is missing and the catalog answers "Unable to
find warehouse" (rule ``missing-warehouse``: upstream's polaris-init hook never ran, or failed and still exited 0).
This does what that hook does, through the management API, each part only if it is missing: the catalog with the
S3 storage config platform.yaml describes (endpoint, path-style, region, the layers' buckets as allowed locations,
the default base location), a catalog role, its catalog-level grants, and that role's assignment to the principal
role the platform logs in with. For an S3-compatible endpoint it sets ``stsUnavailable`` (static keys, no STS),
unless a ``role_arn`` is given.
"""

from __future__ import annotations

from pydantic import Field

from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.remediation import Step, remediation
from floe_agents.remediations._polaris import (
    CatalogParams,
    GrantsAnswer,
    Polaris,
    Resolved,
    RolesAnswer,
    expect,
    http_step,
    read,
    resolve,
)

__all__ = ["CreateCatalogParams", "spec"]

# floe-runtime's polaris-init grants its data-admin role these catalog privileges.
FLOE_PRIVILEGES = (
    "CATALOG_MANAGE_CONTENT",
    "TABLE_CREATE",
    "TABLE_DROP",
    "TABLE_READ_DATA",
    "TABLE_WRITE_DATA",
    "TABLE_LIST",
    "NAMESPACE_CREATE",
    "NAMESPACE_DROP",
    "NAMESPACE_LIST",
    "VIEW_CREATE",
    "VIEW_DROP",
    "VIEW_LIST",
)


class CreateCatalogParams(CatalogParams):
    catalog_role: str = Field(min_length=1, description="The catalog role to create and grant.")
    principal_role: str = Field(default="service_admin", min_length=1, description="Gets the catalog role.")
    privileges: tuple[str, ...] = FLOE_PRIVILEGES
    role_arn: str | None = Field(default=None, description="Vend credentials through STS with this role.")


def catalog_body(cat: Resolved, role_arn: str | None) -> dict[str, object]:
    """The ``CreateCatalogRequest`` for platform.yaml's view of the catalog."""
    if not cat.buckets:
        raise RemediationError(f"platform.yaml declares no storage for catalog {cat.warehouse}")
    storage: dict[str, object] = {
        "storageType": "S3",
        "allowedLocations": [f"s3://{b}/" for b in cat.buckets],
        "pathStyleAccess": cat.path_style_access,
    }
    if cat.endpoint:
        storage["endpoint"] = cat.endpoint
    if cat.region:
        storage["region"] = cat.region
    if role_arn:
        storage["roleArn"] = role_arn
    elif cat.endpoint:
        storage["stsUnavailable"] = True  # an S3-compatible store: no STS to vend credentials with
    base = f"s3://{cat.bucket_of('') or cat.buckets[0]}/"
    return {
        "catalog": {
            "type": "INTERNAL",
            "name": cat.warehouse,
            "properties": {"default-base-location": base},
            "storageConfigInfo": storage,
        }
    }


@remediation("polaris.create_catalog", params=CreateCatalogParams, risk="low")
async def spec(ctx: HealContext, params: CreateCatalogParams) -> list[Step]:
    """Create the platform's Polaris catalog with its storage config, catalog role, grants and assignment."""
    cat = resolve(params)
    pol = Polaris.of(ctx, cat)
    w, role, prole = cat.warehouse, params.catalog_role, params.principal_role
    steps: list[Step] = []
    exists = await pol.catalog(w) is not None
    if not exists:
        steps.append(
            http_step(
                pol,
                "POST",
                pol.management("catalogs"),
                catalog_body(cat, params.role_arn),
                verb="create",
                summary=f"create Polaris catalog {w} with platform.yaml's S3 storage config",
                undo=f"DELETE /api/management/v1/catalogs/{w} (while it has no namespaces)",
            )
        )
    role_url = pol.management("catalogs", w, "catalog-roles", role)
    role_exists = exists and await pol.exists(role_url)
    if not role_exists:
        steps.append(
            http_step(
                pol,
                "POST",
                pol.management("catalogs", w, "catalog-roles"),
                {"catalogRole": {"name": role}},
                verb="create",
                summary=f"create catalog role {role} in {w}",
                undo=f"DELETE /api/management/v1/catalogs/{w}/catalog-roles/{role}",
            )
        )
    granted: set[str] = set()
    grants_url = pol.management("catalogs", w, "catalog-roles", role, "grants")
    if role_exists:
        ans = await pol.call("GET", grants_url)
        expect(ans, f"GET grants of {role}", 200)
        grants = read(ans, GrantsAnswer, f"GET grants of {role}").grants
        granted = {g.privilege for g in grants if g.type == "catalog"}
    for privilege in params.privileges:
        if privilege in granted:
            continue
        steps.append(
            http_step(
                pol,
                "PUT",
                grants_url,
                {"grant": {"type": "catalog", "privilege": privilege}},
                verb="create",
                summary=f"grant {privilege} on catalog {w} to {role}",
                undo=f"POST {grants_url.path} with the same grant (revoke)",
            )
        )
    assigned: set[str] = set()
    if role_exists:
        ans = await pol.call("GET", pol.management("principal-roles", prole, "catalog-roles", w))
        expect(ans, f"GET catalog roles of principal role {prole}", 200)
        assigned = {r.name for r in read(ans, RolesAnswer, f"GET catalog roles of {prole}").roles}
    if role not in assigned:
        steps.append(
            http_step(
                pol,
                "PUT",
                pol.management("principal-roles", prole, "catalog-roles", w),
                {"catalogRole": {"name": role}},
                verb="create",
                summary=f"assign catalog role {role} of {w} to principal role {prole}",
                undo=f"DELETE /api/management/v1/principal-roles/{prole}/catalog-roles/{w}/{role}",
            )
        )
    return steps
