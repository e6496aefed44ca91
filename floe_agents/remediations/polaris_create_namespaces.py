"""polaris.create_namespaces: create the namespaces the platform needs in its catalog, only the missing ones.

Why: a missing namespace makes every table creation and read in it fail with NoSuchNamespace (rule
``missing-namespace``; upstream's polaris-init skipped one, or never ran). The namespaces wanted are the layer
namespaces platform.yaml declares for this catalog, the namespaces of the seed specs named (where the raw tables
live), and any named by the cause (a namespace written with the warehouse as a prefix, ``demo_catalog.bronze``,
means ``bronze``). Each is created through Iceberg REST with its ``location`` property
(``s3://<its layer's bucket>/<namespace>/``, as polaris-init sets it), parents first; 409 means it exists: done.
"""

from __future__ import annotations

from pydantic import Field

from floe_agents.heal_context import HealContext
from floe_agents.remediation import Step, remediation
from floe_agents.remediations._polaris import CatalogParams, Polaris, http_step, ns_path, resolve
from floe_agents.remediations._seeds import load_seed

__all__ = ["CreateNamespacesParams", "spec", "wanted_namespaces"]


class CreateNamespacesParams(CatalogParams):
    namespaces: tuple[str, ...] = Field(default=(), description="Namespaces named by the cause (evidence).")
    seeds: tuple[str, ...] = Field(default=(), description="Seed specs whose namespaces must exist too.")
    layers_too: bool = Field(default=True, description="Also every layer namespace platform.yaml declares.")


def wanted_namespaces(params: CreateNamespacesParams) -> list[str]:
    """The namespaces to have, parents before children, each once, in a stable order."""
    cat = resolve(params)
    named = [*(la.namespace for la in cat.layers.values())] if params.layers_too else []
    named += [load_seed(s).namespace for s in params.seeds]
    prefix = f"{cat.warehouse}."
    named += [ns.removeprefix(prefix) for ns in params.namespaces]  # the probe's prefix mistake: the meant one
    out: list[str] = []
    for ns in named:
        parts = [p for p in ns.split(".") if p.strip()]
        for i in range(1, len(parts) + 1):
            whole = ".".join(parts[:i])
            if whole not in out:
                out.append(whole)
    return out


@remediation("polaris.create_namespaces", params=CreateNamespacesParams, risk="low")
async def spec(ctx: HealContext, params: CreateNamespacesParams) -> list[Step]:
    """Create the platform's missing catalog namespaces (layers, seeds, the cause's), with their location."""
    cat = resolve(params)
    pol = Polaris.of(ctx, cat)
    prefix = await pol.prefix(cat.warehouse)  # None: no warehouse yet (created by an earlier step): all missing
    steps: list[Step] = []
    for ns in wanted_namespaces(params):
        url = pol.rest(prefix or cat.warehouse, "namespaces")
        if prefix is not None and await pol.exists(pol.rest(prefix, "namespaces", ns_path(ns)), "HEAD"):
            continue
        location = cat.location(ns)
        body: dict[str, object] = {"namespace": ns.split(".")}
        if location:
            body["properties"] = {"location": location}
        steps.append(
            http_step(
                pol,
                "POST",
                url,
                body,
                verb="create",
                summary=f"create namespace {ns} in catalog {cat.warehouse}" + (f" at {location}" if location else ""),
                undo=f"DELETE {url.path}/{ns_path(ns)} (while it is empty)",
            )
        )
    return steps
