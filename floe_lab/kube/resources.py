"""The table of resource types the stand-in serves, and the per-type rules the real apiserver applies.

Why a table and not a class per kind: the real apiserver is generic storage plus small per-type *strategies*
(is it namespaced, does it have a ``/status`` subresource, may a PUT create it, does DELETE answer with the object).
Writing those strategies down as data keeps the store generic and makes each faithful quirk visible in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RESOURCES", "ResourceType", "find_resource", "for_kind", "group_versions", "lookup"]

# Fields every type can be selected on, as in the real apiserver.
_META_FIELDS = frozenset({"metadata.name", "metadata.namespace"})


@dataclass(frozen=True)
class ResourceType:
    """One served resource (``group/version/plural``) and the strategy the real apiserver uses for it."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_status: bool = False
    has_scale: bool = False
    tracks_generation: bool = False
    create_on_update: bool = False
    returns_deleted_object: bool = False
    name_rule: str = "subdomain"  # "subdomain" (RFC 1123), "label" (RFC 1123 label), "label1035"
    extra_field_labels: frozenset[str] = field(default_factory=frozenset)
    virtual: bool = False  # a review: POST-only, answered and never stored (SelfSubjectAccessReview, ...)

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, ``group/version`` otherwise (the ``apiVersion`` of its objects)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """The group-qualified resource, as errors print it: ``secrets``, ``leases.coordination.k8s.io``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """The group-qualified kind used in ``Invalid`` messages: ``Secret``, ``Deployment.apps``."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def field_labels(self) -> frozenset[str]:
        return _META_FIELDS | self.extra_field_labels

    @property
    def verbs(self) -> list[str]:
        if self.virtual:
            return ["create"]
        return ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


_POD_FIELDS = frozenset(
    {
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    }
)
_EVENT_FIELDS = frozenset(
    {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    }
)

_RBAC = "rbac.authorization.k8s.io"
_AUTHZ = "authorization.k8s.io"
RESOURCES: tuple[ResourceType, ...] = (
    ResourceType(
        "",
        "v1",
        "namespaces",
        "namespace",
        "Namespace",
        namespaced=False,
        short_names=("ns",),
        has_status=True,
        name_rule="label",
        extra_field_labels=frozenset({"status.phase"}),
    ),
    ResourceType(
        "",
        "v1",
        "pods",
        "pod",
        "Pod",
        short_names=("po",),
        categories=("all",),
        has_status=True,
        returns_deleted_object=True,
        extra_field_labels=_POD_FIELDS,
    ),
    ResourceType(
        "",
        "v1",
        "services",
        "service",
        "Service",
        short_names=("svc",),
        categories=("all",),
        has_status=True,
        create_on_update=True,
        returns_deleted_object=True,
        name_rule="label1035",
        extra_field_labels=frozenset({"spec.clusterIP", "spec.type"}),
    ),
    ResourceType("", "v1", "endpoints", "endpoints", "Endpoints", short_names=("ep",), create_on_update=True),
    ResourceType("", "v1", "secrets", "secret", "Secret", extra_field_labels=frozenset({"type"})),
    ResourceType("", "v1", "configmaps", "configmap", "ConfigMap", short_names=("cm",)),
    ResourceType(
        "",
        "v1",
        "events",
        "event",
        "Event",
        short_names=("ev",),
        create_on_update=True,
        extra_field_labels=_EVENT_FIELDS,
    ),
    ResourceType(
        "",
        "v1",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        short_names=("sa",),
        returns_deleted_object=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "deployments",
        "deployment",
        "Deployment",
        short_names=("deploy",),
        categories=("all",),
        has_status=True,
        has_scale=True,
        tracks_generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        short_names=("sts",),
        categories=("all",),
        has_status=True,
        has_scale=True,
        tracks_generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        short_names=("rs",),
        categories=("all",),
        has_status=True,
        has_scale=True,
        tracks_generation=True,
        extra_field_labels=frozenset({"status.replicas"}),
    ),
    ResourceType(
        "batch",
        "v1",
        "jobs",
        "job",
        "Job",
        categories=("all",),
        has_status=True,
        tracks_generation=True,
        extra_field_labels=frozenset({"status.successful"}),
    ),
    ResourceType(
        "batch",
        "v1",
        "cronjobs",
        "cronjob",
        "CronJob",
        short_names=("cj",),
        categories=("all",),
        has_status=True,
        tracks_generation=True,
    ),
    ResourceType("coordination.k8s.io", "v1", "leases", "lease", "Lease", create_on_update=True),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", create_on_update=True),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", create_on_update=True
    ),
    ResourceType(_RBAC, "v1", "clusterroles", "clusterrole", "ClusterRole", namespaced=False, create_on_update=True),
    ResourceType(
        _RBAC,
        "v1",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        namespaced=False,
        create_on_update=True,
    ),
    # The reviews (floe_lab.kube.reviews): what ``kubectl auth can-i`` and ``kubectl auth whoami`` send.
    ResourceType(
        _AUTHZ, "v1", "selfsubjectaccessreviews", "", "SelfSubjectAccessReview", namespaced=False, virtual=True
    ),
    ResourceType(_AUTHZ, "v1", "selfsubjectrulesreviews", "", "SelfSubjectRulesReview", namespaced=False, virtual=True),
    ResourceType(
        "authentication.k8s.io", "v1", "selfsubjectreviews", "", "SelfSubjectReview", namespaced=False, virtual=True
    ),
)

_BY_PATH: dict[tuple[str, str, str], ResourceType] = {(r.group, r.version, r.plural): r for r in RESOURCES}


def lookup(group: str, version: str, plural: str) -> ResourceType | None:
    """The type served at ``/api(s)/<group>/<version>/<plural>``, or None (the path is then a 404)."""
    return _BY_PATH.get((group, version, plural))


def find_resource(name: str) -> ResourceType | None:
    """Resolve a name as ``kubectl`` would: plural, singular, short name, kind, or ``plural.group``."""
    wanted = name.strip()
    lowered = wanted.lower()
    for rt in RESOURCES:
        if lowered in {rt.plural, rt.singular, rt.qualified, rt.kind.lower(), *rt.short_names}:
            return rt
        if wanted == rt.qualified_kind:
            return rt
    return None


def group_versions() -> dict[str, list[ResourceType]]:
    """Served types grouped by ``apiVersion`` (``v1``, ``apps/v1``, ...), in table order."""
    grouped: dict[str, list[ResourceType]] = {}
    for rt in RESOURCES:
        grouped.setdefault(rt.api_version, []).append(rt)
    return grouped


def for_kind(api_version: str, kind: str) -> ResourceType | None:
    """The type of a manifest (its ``apiVersion`` and ``kind``), or None if not served."""
    for rt in RESOURCES:
        if rt.api_version == api_version and rt.kind == kind:
            return rt
    return None
