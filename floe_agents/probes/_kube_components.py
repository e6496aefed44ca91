"""Which Floe component a Kubernetes object belongs to, and which workload (Deployment, StatefulSet, Job) runs a pod.

A finding filed under the wrong component folds under the wrong cause, so the evidence the object carries about
itself decides, most explicit first: its role labels (``app.kubernetes.io/component``, then the Dagster chart's
own ``component``), where a value that *is* a component of the topology is taken as it is and a chart's role name
is translated (:data:`_ROLE_COMPONENT`); then the labels Dagster's run launcher and executor put on the pods they
start for a run (``dagster/run-id``, ``dagster/job``: the user code is what runs there); then the chart name
(``app.kubernetes.io/name``); and only then names, the owning workload's before the pod's own (a pod's name is
its owner's plus a hash), as a last resort for objects nobody labelled. Nothing matches: ``kubernetes``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping

from floe_agents.probes._models.kube import Endpoints, Job, Pod, Service
from floe_agents.topology import FLOE_COMPONENTS

__all__ = ["KNOWN", "Where", "comp_of", "component_of", "workload_of"]

KNOWN = frozenset(c.name for c in FLOE_COMPONENTS)  # names a label may carry as they are
ROLE_LABELS = ("app.kubernetes.io/component", "component")  # the recommended label, then the Dagster chart's
DAGSTER_RUN_LABELS = ("dagster/run-id", "dagster/job", "dagster/code-location")  # K8sRunLauncher, k8s_job_executor
Where = Callable[[Pod | Job | Service | Endpoints], str]  # an object -> its component (comp_of, for the run's names)
# fmt: off
_ROLE_COMPONENT = {  # a chart's role (or name) label -> the Floe component it is part of
    "postgresql-subchart": "postgres", "postgresql": "postgres", "localstack": "s3", "minio": "s3",
    "marquez-web": "marquez", "otel": "jaeger", "dagit": "dagster-webserver",
    "user-deployments": "dagster-user-code", "run_worker": "dagster-user-code", "step_worker": "dagster-user-code",
    "localstack-init": "s3", "polaris-init": "polaris", "polaris-bootstrap": "polaris", "seed-data": "iceberg",
    "migrate": "postgres", "run-migrations": "postgres",
}
_NAME_COMPONENT = (  # name fragment -> Floe component, first match wins: the last resort
    ("user-deployments", "dagster-user-code"), ("migrate", "postgres"), ("dagster-webserver", "dagster-webserver"),
    ("daemon", "dagster-daemon"), ("localstack-init", "s3"), ("polaris-init", "polaris"), ("seed-data", "iceberg"),
    ("postgresql", "postgres"), ("localstack", "s3"), ("minio", "s3"), ("polaris", "polaris"),
    ("marquez", "marquez"), ("jaeger", "jaeger"), ("otel", "jaeger"), ("cube", "cube"),
)
# fmt: on


def _named(value: str | None, known: Collection[str]) -> str | None:
    if not value:
        return None
    return value if value in known else _ROLE_COMPONENT.get(value)


def component_of(
    labels: Mapping[str, str], name: str, *, owners: Iterable[str] = (), known: Collection[str] = KNOWN
) -> str:
    """The Floe component an object belongs to, by its labels, else its owners' names, else its own name; else
    ``kubernetes``. ``known``: the run's component names (a label naming one is taken as it is)."""
    for label in ROLE_LABELS:
        if found := _named(labels.get(label), known):
            return found
    if any(label in labels for label in DAGSTER_RUN_LABELS):
        return _ROLE_COMPONENT["run_worker"]  # a pod Dagster started for a run: the user code runs there
    if found := _named(labels.get("app.kubernetes.io/name"), known):
        return found
    if "deployment" in labels and "dagster" in f"{labels.get('app.kubernetes.io/name', '')}{name}":
        return _ROLE_COMPONENT["user-deployments"]  # the Dagster chart labels user deployments deployment=<name>
    for candidate in (*owners, name):
        if found := next((comp for part, comp in _NAME_COMPONENT if part in candidate), None):
            return found
    return "kubernetes"


def workload_of(pod: Pod) -> tuple[str, str]:
    """The kind and name of what runs ``pod``: its owner, a ReplicaSet read as its Deployment (the ReplicaSet is
    named ``<deployment>-<pod-template-hash>``, the hash is the pod's label); no owner: the pod itself."""
    owners = pod.metadata.owner_references
    if not owners:
        return "Pod", pod.name
    owner = next((o for o in owners if o.kind in ("ReplicaSet", "StatefulSet", "DaemonSet", "Job")), owners[0])
    kind, name = str(owner.kind), str(owner.name)
    template_hash = pod.metadata.labels.get("pod-template-hash")
    if kind == "ReplicaSet" and template_hash and name.endswith(f"-{template_hash}"):
        return "Deployment", name.removesuffix(f"-{template_hash}")
    return kind, name


def comp_of(obj: Pod | Job | Service | Endpoints, known: Collection[str] = KNOWN) -> str:
    """The component of a listed object (a pod also by the workload that owns it)."""
    owners = [workload_of(obj)[1]] if isinstance(obj, Pod) else [str(o.name) for o in obj.metadata.owner_references]
    return component_of(obj.metadata.labels, obj.name, owners=owners, known=known)
