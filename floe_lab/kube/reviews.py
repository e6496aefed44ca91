"""The questions a client may ask about its own access, and the one way to get a ServiceAccount token.

Why served: ``kubectl auth can-i VERB RESOURCE`` is a ``SelfSubjectAccessReview``, ``kubectl auth can-i --list`` a
``SelfSubjectRulesReview``, ``kubectl auth whoami`` a ``SelfSubjectReview``, and floe-agents' heal asks a
SelfSubjectAccessReview for each write before it makes one. Each is answered by the same RBAC evaluation that
guards every request (:mod:`.rbac`), echoed with a ``status`` and stored nowhere (201, as the real API answers a
create). ``POST .../serviceaccounts/{name}/token`` is the TokenRequest of ``kubectl create token`` (:mod:`.authn`
says what the token is); it is a ``create`` on ``serviceaccounts/token``, so RBAC guards it like any write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from floe_lab.kube import errors
from floe_lab.kube.access import AUTHN, USER
from floe_lab.kube.authn import MIN_EXPIRATION_S
from floe_lab.kube.errors import ApiError, Cause
from floe_lab.kube.httputil import STORE, Target, dry_run, json_response, read_body
from floe_lab.kube.rbac import authorize, rules_for
from floe_lab.kube.requestinfo import RequestInfo

__all__ = ["review", "token_request"]

_AUDIENCES = ["https://kubernetes.default.svc.cluster.local"]


async def _object(request: web.Request, target: Target) -> dict[str, Any]:
    body = await read_body(request)
    if not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a JSON object")
    rt = target.resource
    if body.get("kind") not in (None, "", rt.kind) or body.get("apiVersion") not in (None, "", rt.api_version):
        kind = body.get("kind")
        raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
    return body


def _invalid(kind: str, field: str, message: str) -> ApiError:
    cause = Cause(field, "FieldValueInvalid", message)
    return ApiError(
        422, "Invalid", f'{kind} "" is invalid: {field}: {message}', {"kind": kind, "causes": [cause.__dict__]}
    )


def _access_status(request: web.Request, spec: dict[str, Any]) -> dict[str, Any]:
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if (resource is None) == (non_resource is None):
        raise _invalid(
            "SelfSubjectAccessReview.authorization.k8s.io",
            "spec.resourceAttributes",
            'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
        )
    if isinstance(resource, dict):
        info = RequestInfo(
            True,
            str(resource.get("verb") or ""),
            "",
            str(resource.get("group") or ""),
            str(resource.get("version") or ""),
            str(resource.get("namespace") or ""),
            str(resource.get("resource") or ""),
            str(resource.get("subresource") or ""),
            str(resource.get("name") or ""),
        )
    else:
        attrs = non_resource if isinstance(non_resource, dict) else {}
        info = RequestInfo(False, str(attrs.get("verb") or ""), str(attrs.get("path") or ""))
    decision = authorize(request.app[STORE], request[USER], info)
    return {"allowed": decision.allowed} | ({"reason": decision.reason} if decision.reason else {})


def _rules_status(request: web.Request, spec: dict[str, Any]) -> dict[str, Any]:
    rules = rules_for(request.app[STORE], request[USER], str(spec.get("namespace") or ""))
    return {
        "resourceRules": [r.wire() for r in rules if not r.non_resource_urls],
        "nonResourceRules": [r.wire() for r in rules if r.non_resource_urls],
        "incomplete": False,
    }


async def review(request: web.Request, target: Target) -> web.StreamResponse:
    """POST of a SelfSubjectAccessReview, SelfSubjectRulesReview or SelfSubjectReview: the question, answered."""
    body = await _object(request, target)
    rt = target.resource
    spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    if rt.kind == "SelfSubjectAccessReview":
        status = _access_status(request, spec)
    elif rt.kind == "SelfSubjectRulesReview":
        status = _rules_status(request, spec)
    else:
        user = request[USER]
        info: dict[str, Any] = {"username": user.name, "groups": list(user.groups)}
        info |= {"uid": user.uid} if user.uid else {}
        status = {"userInfo": info}
    answer: dict[str, Any] = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {"creationTimestamp": None}}
    if rt.kind != "SelfSubjectReview":
        answer["spec"] = spec
    answer["status"] = status
    return json_response(answer, status=201)


def _expiry(seconds: object) -> int | None:
    if seconds is None:
        return None
    if not isinstance(seconds, int) or seconds < MIN_EXPIRATION_S:
        raise _invalid(
            "TokenRequest.authentication.k8s.io",
            "spec.expirationSeconds",
            f"Invalid value: {seconds}: may not specify a duration less than 10 minutes",
        )
    return seconds


async def token_request(request: web.Request, target: Target) -> web.StreamResponse:
    """POST ``serviceaccounts/{name}/token``: a token for the account (404 when it does not exist)."""
    assert target.name is not None
    assert target.namespace is not None
    body = await read_body(request)
    spec = body.get("spec") if isinstance(body, dict) and isinstance(body.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    seconds = _expiry(spec.get("expirationSeconds"))
    account = request.app[STORE].get("serviceaccounts", target.name, target.namespace)
    authn = request.app[AUTHN]
    if dry_run(request):
        token, expires = "", datetime.now(UTC).timestamp() + (seconds or 3600)
    else:
        token, expires = authn.issue(target.namespace, target.name, str(account["metadata"]["uid"]), seconds)
    when = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": target.name, "namespace": target.namespace, "creationTimestamp": None},
        "spec": {
            "audiences": spec.get("audiences") or _AUDIENCES,
            "expirationSeconds": seconds or int(expires - datetime.now(UTC).timestamp() + 0.5),
            "boundObjectRef": spec.get("boundObjectRef"),
        },
        "status": {"token": token, "expirationTimestamp": when},
    }
    return json_response(answer, status=201)
