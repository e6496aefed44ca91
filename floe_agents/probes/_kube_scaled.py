"""A platform workload scaled to zero replicas: nothing runs it, and nothing else says so at once.

Why its own check: with no pod there is no crash, no event and no failing container to read; a component with an
HTTP API shows up as refusing connections, but one without (the Dagster daemon) only as a heartbeat that goes stale
minutes later. The Deployment or StatefulSet itself says it plainly (``spec.replicas: 0``), whoever scaled it
down. Read with the same list the emitters probe uses (the investigate Role already grants it).
"""

from __future__ import annotations

from collections.abc import Collection

from floe_agents.findings import Status
from floe_agents.probes._kube_components import component_of
from floe_agents.probes._models.kube import Deployment
from floe_agents.probes._verdict import Verdict

__all__ = ["scaled_obs"]

_UNMAPPED = "kubernetes"  # what component_of names an object of no platform component


def scaled_obs(workloads: dict[str, list[Deployment]], known: Collection[str]) -> list[Verdict]:
    """One failure per Deployment/StatefulSet (``workloads``: kind -> objects) of a known component at 0 replicas."""
    out = []
    for kind, objects in workloads.items():
        for obj in objects:
            if obj.spec.replicas != 0:
                continue
            component = component_of(obj.metadata.labels, obj.name, owners=[], known=known)
            if component not in known or component == _UNMAPPED:
                continue  # not one of the platform's workloads: scaling it is someone else's business
            ref = f"{kind}/{obj.name}"
            summary = f"{ref} is scaled to 0 replicas: no pod runs {component}"
            ev = {"workload": ref, "replicas": 0, "kind": kind}
            code = "k8s.workload_scaled_to_zero"
            out.append(Verdict(Status.FAIL, code, summary, ev, subject=ref, component=component))
    return out
