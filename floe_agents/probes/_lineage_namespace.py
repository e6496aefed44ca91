"""Which Marquez namespace the pipeline's lineage should arrive under: the marquez probe's expectation.

Why not a constant: the namespace is the deployment's choice. platform.yaml may say it
(``observability.attributes["openlineage.namespace"]``); otherwise the pipeline's user code says it, in the
cluster: the ``OPENLINEAGE_NAMESPACE`` its Deployment sets or, when it sets none, the code location it serves
(the Dagster chart's ``deployment`` label, which Floe's charts use as the OpenLineage namespace). With no word
from either (no platform.yaml attribute, no cluster configured or readable, no user deployment) it is not known,
and the marquez probe takes lineage under any namespace as the pipeline's rather than guess a name (upstream's
``floe-demo`` once was that guess: a stack deployed under another name, read without its cluster, then reported
its own lineage as arriving "under another namespace").
"""

from __future__ import annotations

from floe_agents.context import ProbeContext
from floe_agents.probes._kube_api import KubeError, dicts, get, list_items

__all__ = ["NAMESPACE_KEYS", "USER_CODE_LABELS", "pipeline_namespace"]

NAMESPACE_KEYS = ("openlineage.namespace", "lineage.namespace")  # platform.yaml observability.attributes keys
USER_CODE_LABELS = ("app.kubernetes.io/component=user-deployments", "component=user-deployments")
LINEAGE_NAMESPACE_ENV = "OPENLINEAGE_NAMESPACE"


def _from_deployment(deployment: object) -> str | None:
    """The deployment's literal OPENLINEAGE_NAMESPACE, else the code location its ``deployment`` label names."""
    containers = dicts(get(deployment, "spec", "template", "spec", "containers"))
    for env in (e for c in containers for e in dicts(c.get("env"))):
        if env.get("name") == LINEAGE_NAMESPACE_ENV and isinstance(env.get("value"), str) and env["value"]:
            return str(env["value"])
    location = get(deployment, "metadata", "labels", "deployment")
    return location if isinstance(location, str) and location else None


async def pipeline_namespace(ctx: ProbeContext) -> str | None:
    """platform.yaml's lineage namespace, else the user code's (read from the cluster), else None: not known."""
    attributes = ctx.platform.observability.attributes if ctx.platform is not None else {}
    if configured := next((attributes[k] for k in NAMESPACE_KEYS if attributes.get(k)), None):
        return configured
    api, _ = await ctx.services.kube.get()
    if api is None:
        return None
    from kubernetes_asyncio import client  # noqa: PLC0415 - only when a cluster is configured

    apps = client.AppsV1Api(api)
    try:
        for selector in USER_CODE_LABELS:
            for deployment in await list_items(apps.list_namespaced_deployment, ctx.targets.namespace,
                                               label_selector=selector):  # fmt: skip
                if found := _from_deployment(deployment):
                    return found
    except KubeError:  # the kubernetes probe reports the API itself
        return None
    return None
