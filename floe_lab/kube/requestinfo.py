"""What a request asks to do, in the authorizer's terms: the apiserver's ``RequestInfo`` derived from the URL alone.

Why from the URL alone, before any handler: the real apiserver authorizes a request before it knows whether the
resource exists (a user may not learn that a path is served by being told 404 instead of 403), and RBAC rules are
written against exactly these attributes. So this follows ``k8s.io/apiserver/pkg/endpoints/request/requestinfo.go``:
``/api/{version}/...`` and ``/apis/{group}/{version}/...`` are resource requests (anything shorter — ``/api``,
``/api/v1``, ``/apis/apps/v1`` — is a non-resource path); ``/watch/`` is a verb; ``namespaces/{ns}/{resource}``
moves the namespace aside (``namespaces/{ns}`` itself is the ``namespaces`` resource named ``ns`` *in* namespace
``ns``); the verb comes from the method (GET without a name is ``list`` or ``watch``, DELETE without one
``deletecollection``); and a list or watch whose field selector pins ``metadata.name`` carries that name, which
is what lets a rule with ``resourceNames`` allow it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RequestInfo", "request_info"]

_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_SPECIAL_VERBS = frozenset({"proxy", "watch"})


@dataclass(frozen=True)
class RequestInfo:
    """The attributes RBAC decides on. For a non-resource request only ``verb`` (the lower-cased method) and
    ``path`` matter."""

    resource_request: bool
    verb: str
    path: str
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""

    @property
    def qualified_resource(self) -> str:
        """``pods``, ``deployments.apps``: the resource as errors name it."""
        return f"{self.resource}.{self.api_group}" if self.api_group else self.resource

    @property
    def resource_path(self) -> str:
        """``pods/log``: the resource with its subresource, as rules and messages write it."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in {"true", "1"}


def _name_in_field_selector(selector: str) -> str:
    """The name a field selector requires exactly (``metadata.name=x`` or ``==``, among other terms), else ''."""
    for term in selector.split(","):
        field, op, value = term.strip().partition("==")
        if not op:
            field, op, value = term.strip().partition("=")
            if field.endswith("!"):
                continue
        if op and field.strip() == "metadata.name" and value.strip() and "/" not in value:
            return value.strip()
    return ""


def request_info(method: str, path: str, query: dict[str, str]) -> RequestInfo:
    """The request's attributes (``query``: its first value per parameter)."""
    parts = [p for p in path.split("/") if p]
    non_resource = RequestInfo(False, method.lower(), path)
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return non_resource
    rest = parts[1:]
    group = ""
    if parts[0] == "apis":
        if len(rest) < 3:
            return non_resource
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    verb = _METHOD_VERBS.get(method.upper(), "")
    special = False
    if rest and rest[0] in _SPECIAL_VERBS:
        if len(rest) < 2:
            return RequestInfo(True, verb, path, group, version)
        verb, rest, special = rest[0], rest[1:], True
    namespace = ""
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 and verb != "proxy" else ""
    if not name and verb == "get" and not special:
        verb = "watch" if _truthy(query.get("watch")) else "list"
        name = _name_in_field_selector(query.get("fieldSelector", ""))
    if not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(True, verb, path, group, version, namespace, resource, subresource, name)
