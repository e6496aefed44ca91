"""A 403 from the Kubernetes API is read as what is missing: 'not permitted: needs list on pods in namespace floe'."""

from __future__ import annotations

from floe_agents.probes._kube_api import _needs


def test_the_authorizers_message_names_the_verb_resource_and_namespace() -> None:
    user = 'User "system:serviceaccount:floe:floe-agents"'
    assert _needs(f'pods is forbidden: {user} cannot list resource "pods" in API group "" in the namespace "floe"') == (
        "list on pods in namespace floe"
    )
    logs = f'pods "p" is forbidden: {user} cannot get resource "pods/log" in API group "" in the namespace "floe"'
    assert _needs(logs) == "get on pods/log in namespace floe"
    apps = f'deployments.apps is forbidden: {user} cannot list resource "deployments" in API group "apps" at the '
    apps += "cluster scope"
    assert _needs(apps) == "list on deployments.apps"
    assert _needs("some proxy said no") == ""
