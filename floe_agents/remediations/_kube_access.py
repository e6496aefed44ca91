"""What a Kubernetes step needs the API to allow, and asking the API whether it does (SelfSubjectAccessReview).

Why ask before writing: a heal that learns from a 403 half-way through a fix leaves the platform between two
states (the old Job deleted, the new one refused). The API answers "may I?" for any verb and resource
(``kubectl auth can-i``'s SelfSubjectAccessReview, which every authenticated identity may create), so heal asks
for every write a planned step makes before it makes any. The writes are read off the step's public
:class:`~floe_agents.remediation.Action` — its verb and its target ``Kind namespace/name`` — because that is what
a person reviewed. A ``create`` is asked without a name: RBAC cannot restrict a create by name (the name is in the
body), so neither does the real check. An API that does not answer the review (404, 501, an error) gives no
answer (None): the step is then tried and a 403 reported the same way.
"""

from __future__ import annotations

import json
from typing import Any

import anyio

from floe_agents._frozen import Frozen
from floe_agents.remediation import Action

__all__ = ["KIND_RESOURCES", "KubeNeed", "action_needs", "can_i", "need_of"]

REVIEW_TIMEOUT_S = 10.0
# The kinds the remediations (and heal's Lease) write: (API group, plural resource).
KIND_RESOURCES: dict[str, tuple[str, str]] = {
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "Job": ("batch", "jobs"),
    "Secret": ("", "secrets"),
    "ConfigMap": ("", "configmaps"),
    "Pod": ("", "pods"),
    "Lease": ("coordination.k8s.io", "leases"),
}
# A step's verb -> the API verbs it sends (a Job is run again by deleting it and creating it anew).
_VERBS = {"replace": ("delete", "create"), "run": ("delete", "create")}


class KubeNeed(Frozen):
    """One permission a request needs: the attributes of a SelfSubjectAccessReview."""

    verb: str
    group: str = ""
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def text(self) -> str:
        """``patch on deployments.apps (in namespace floe)``: what the Role must grant."""
        resource = f"{self.resource}.{self.group}" if self.group else self.resource
        resource += f"/{self.subresource}" if self.subresource else ""
        return f"{self.verb} on {resource}" + (f" (in namespace {self.namespace})" if self.namespace else "")


def need_of(verb: str, what: str) -> KubeNeed | None:
    """The permission ``verb`` needs on ``what`` ('Deployment floe/x', 'Job floe/*'); None for an unknown kind."""
    kind, _, where = what.partition(" ")
    known = KIND_RESOURCES.get(kind)
    if known is None:
        return None
    namespace, _, name = where.partition("/")
    named = name not in ("", "*") and verb not in ("create", "list", "deletecollection")
    return KubeNeed(verb=verb, group=known[0], resource=known[1], namespace=namespace, name=name if named else "")


def action_needs(action: Action) -> tuple[KubeNeed, ...]:
    """The writes a Kubernetes step sends, as permissions (none for a step of another kind)."""
    if action.kind != "kubernetes":
        return ()
    needs = (need_of(verb, action.target) for verb in _VERBS.get(action.verb, (action.verb,)))
    return tuple(n for n in needs if n is not None)


async def can_i(api: Any, need: KubeNeed) -> bool | None:
    """Whether the API allows ``need`` to the caller; None when it would not say (no SelfSubjectAccessReview)."""
    from kubernetes_asyncio import client  # noqa: PLC0415 - ~1 s to import: only a heal with a cluster pays

    attributes = {"verb": need.verb, "group": need.group, "resource": need.resource}
    optional = {"subresource": need.subresource, "namespace": need.namespace, "name": need.name}
    attributes |= {k: v for k, v in optional.items() if v}
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    try:
        with anyio.fail_after(REVIEW_TIMEOUT_S + 1):
            reviews: Any = client.AuthorizationV1Api(api)  # raw answer (_preload_content=False): typed as Any
            resp = await reviews.create_self_subject_access_review(
                body, _preload_content=False, _request_timeout=REVIEW_TIMEOUT_S
            )
            try:
                raw = await resp.read()
            finally:
                resp.release()
    except Exception:  # no answer is no answer: the step is tried, and a 403 reported as one
        return None
    if not 200 <= int(resp.status) < 300:
        return None
    try:
        status = json.loads(raw).get("status") or {}
    except (ValueError, AttributeError):
        return None
    allowed = status.get("allowed") if isinstance(status, dict) else None
    return allowed if isinstance(allowed, bool) else None
