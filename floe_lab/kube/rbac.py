"""RBAC as the real authorizer evaluates it: which rules apply to a user in a namespace, and does one allow a request.

Why a faithful copy and not "admin or not": the point of the lab's RBAC is to *prove* that the Roles under
``deploy/`` grant exactly what floe-agents does, so every rule must mean here what it means on a cluster. This
follows ``k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac`` and ``pkg/apis/rbac/v1/evaluation_helpers.go``:

* ClusterRoleBindings grant their ClusterRole everywhere; RoleBindings grant their Role — or a ClusterRole — only
  in the binding's own namespace. A binding whose role does not exist grants nothing (and the denial says so:
  ``RBAC: role.rbac.authorization.k8s.io "x" not found``, as the real one appends).
* Subjects: ``User`` by name, ``Group`` by membership, ``ServiceAccount`` by ``system:serviceaccount:{ns}:{name}``
  (a RoleBinding's ServiceAccount subject without a namespace means the binding's namespace).
* A rule matches when verb, API group, resource and name match: ``*`` matches any verb, group or resource;
  ``pods/log`` names a subresource and ``*/scale`` a subresource of anything; ``resourceNames`` restrict to those
  names, so a request without a name — ``create``, ``deletecollection``, a ``list``/``watch`` whose field selector
  does not pin ``metadata.name`` — never matches such a rule. Non-resource paths match ``nonResourceURLs`` exactly
  or by a trailing ``*`` prefix.
* ``system:masters`` is allowed everything (the real apiserver's privileged group), and every authenticated user
  has the bootstrap roles ``system:discovery``, ``system:basic-user`` and ``system:public-info-viewer``: discovery,
  OpenAPI, version, health, and creating SelfSubjectAccessReviews/RulesReviews/SelfSubjectReviews. They are built in
  here, not stored objects, so a fresh lab lists only what was applied to it. Aggregated ClusterRoles
  (``aggregationRule``) are not expanded. Nothing checks escalation: only the admin writes RBAC objects in the lab.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from floe_lab.kube.authn import UserInfo
from floe_lab.kube.requestinfo import RequestInfo
from floe_lab.kube.store import KubeStore

__all__ = ["DEFAULT_RULES", "Decision", "PolicyRule", "authorize", "matches", "rules_for"]

_RBAC_GROUP = "rbac.authorization.k8s.io"


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


@dataclass(frozen=True)
class PolicyRule:
    """One entry of a Role's or ClusterRole's ``rules``."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> PolicyRule:
        return cls(
            _strings(raw.get("verbs")),
            _strings(raw.get("apiGroups")),
            _strings(raw.get("resources")),
            _strings(raw.get("resourceNames")),
            _strings(raw.get("nonResourceURLs")),
        )

    def wire(self) -> dict[str, list[str]]:
        """As a SelfSubjectRulesReview lists it (resource and non-resource rules apart)."""
        if self.non_resource_urls:
            return {"verbs": list(self.verbs), "nonResourceURLs": list(self.non_resource_urls)}
        out = {"verbs": list(self.verbs), "apiGroups": list(self.api_groups), "resources": list(self.resources)}
        return out | ({"resourceNames": list(self.resource_names)} if self.resource_names else {})


_DISCOVERY_PATHS = ("/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/")
_HEALTH_PATHS = ("/healthz", "/livez", "/readyz", "/version", "/version/")
DEFAULT_RULES: tuple[PolicyRule, ...] = (
    PolicyRule(("get",), non_resource_urls=_DISCOVERY_PATHS + _HEALTH_PATHS[:3]),  # system:discovery + public info
    PolicyRule(("create",), ("authorization.k8s.io",), ("selfsubjectaccessreviews", "selfsubjectrulesreviews")),
    PolicyRule(("create",), ("authentication.k8s.io",), ("selfsubjectreviews",)),  # system:basic-user
)
_EVERYTHING = (PolicyRule(("*",), ("*",), ("*",)), PolicyRule(("*",), non_resource_urls=("*",)))


def _has(values: Sequence[str], wanted: str) -> bool:
    return "*" in values or wanted in values


def _resource_matches(rule: PolicyRule, info: RequestInfo) -> bool:
    combined = info.resource_path
    for resource in rule.resources:
        if resource in ("*", combined):
            return True
        if info.subresource and resource == f"*/{info.subresource}":
            return True
    return False


def _url_matches(rule: PolicyRule, path: str) -> bool:
    for url in rule.non_resource_urls:
        if url in ("*", path) or (url.endswith("*") and path.startswith(url.rstrip("*"))):
            return True
    return False


def matches(rule: PolicyRule, info: RequestInfo) -> bool:
    """Whether ``rule`` allows the request (the real ``RuleAllows``)."""
    if not info.resource_request:
        return _has(rule.verbs, info.verb) and _url_matches(rule, info.path)
    return (
        _has(rule.verbs, info.verb)
        and _has(rule.api_groups, info.api_group)
        and _resource_matches(rule, info)
        and (not rule.resource_names or info.name in rule.resource_names)
    )


def _applies(subject: Mapping[str, Any], user: UserInfo, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), str(subject.get("name") or "")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = str(subject.get("namespace") or binding_namespace)
        return bool(namespace) and user.name == f"system:serviceaccount:{namespace}:{name}"
    return False


@dataclass(frozen=True)
class Grant:
    """The rules one binding gives, and where they come from (for the 'allowed by' reason)."""

    rules: tuple[PolicyRule, ...]
    source: str  # 'RoleBinding "x/floe" of Role "y" to ServiceAccount "sa/floe"'
    missing: str = ""  # 'role.rbac.authorization.k8s.io "y" not found' when the role is absent


def _role_rules(store: KubeStore, ref: Mapping[str, Any], namespace: str) -> tuple[PolicyRule, ...] | None:
    kind, name = ref.get("kind"), str(ref.get("name") or "")
    if ref.get("apiGroup", _RBAC_GROUP) != _RBAC_GROUP or kind not in ("Role", "ClusterRole"):
        return None
    role = store.find("roles", name, namespace) if kind == "Role" else store.find("clusterroles", name)
    if role is None:
        return None
    return tuple(PolicyRule.of(r) for r in role.get("rules") or [] if isinstance(r, dict))


def _grants(store: KubeStore, user: UserInfo, namespace: str) -> Iterator[Grant]:
    bindings: Iterable[tuple[dict[str, Any], str]] = [(b, "") for b in store.list("clusterrolebindings")]
    if namespace:
        bindings = [*bindings, *((b, namespace) for b in store.list("rolebindings", namespace))]
    for binding, ns in bindings:
        subjects = [s for s in binding.get("subjects") or [] if isinstance(s, dict)]
        subject = next((s for s in subjects if _applies(s, user, ns)), None)
        if subject is None:
            continue
        ref = binding.get("roleRef") or {}
        kind = "RoleBinding" if ns else "ClusterRoleBinding"
        where = f"{binding['metadata']['name']}/{ns}" if ns else binding["metadata"]["name"]
        source = f'{kind} "{where}" of {ref.get("kind")} "{ref.get("name")}" to {_describe(subject, ns)}'
        rules = _role_rules(store, ref, ns) if isinstance(ref, dict) else None
        if rules is None:
            missing = f'{str(ref.get("kind", "role")).lower()}.{_RBAC_GROUP} "{ref.get("name")}" not found'
            yield Grant((), source, missing)
        else:
            yield Grant(rules, source)


def rules_for(store: KubeStore, user: UserInfo, namespace: str) -> list[PolicyRule]:
    """Every rule that applies to ``user`` in ``namespace`` ('' : cluster scope), defaults included."""
    if user.is_master:
        return list(_EVERYTHING)
    out = list(DEFAULT_RULES) if "system:authenticated" in user.groups else []
    for grant in _grants(store, user, namespace):
        out.extend(grant.rules)
    return out


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""


def authorize(store: KubeStore, user: UserInfo, info: RequestInfo) -> Decision:
    """Allowed, with the binding that allows it; or denied, with the real authorizer's reason (missing roles)."""
    if user.is_master:
        return Decision(True, "")
    if "system:authenticated" in user.groups and any(matches(r, info) for r in DEFAULT_RULES):
        return Decision(True, "")
    missing: list[str] = []
    for grant in _grants(store, user, info.namespace if info.resource_request else ""):
        if grant.missing:
            missing.append(grant.missing)
        elif any(matches(r, info) for r in grant.rules):
            return Decision(True, f"RBAC: allowed by {grant.source}")
    return Decision(False, f"RBAC: {', '.join(missing)}" if missing else "")


def _describe(subject: Mapping[str, Any], binding_namespace: str) -> str:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{subject.get("namespace") or binding_namespace}"'
    return f'{kind} "{name}"'
