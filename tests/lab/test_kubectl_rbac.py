"""The real ``kubectl`` with a ServiceAccount's token against the stand-in: ``create token`` (TokenRequest),
``auth can-i`` (SelfSubjectAccessReview, with ``--subresource``), ``auth can-i --list`` (SelfSubjectRulesReview),
``auth whoami`` (SelfSubjectReview), and the Forbidden error kubectl prints for a refused read."""

from __future__ import annotations

import anyio
import pytest
import yaml

from tests.support.kubectl import KUBECTL, NO_KUBECTL, Cluster

pytestmark = pytest.mark.skipif(KUBECTL is None, reason=NO_KUBECTL)

RBAC = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: floe}
rules:
  - {apiGroups: [""], resources: [pods], verbs: [list]}
  - {apiGroups: [""], resources: [pods/log], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: floe}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: agent, namespace: floe}]
"""


async def _as_agent(cluster: Cluster) -> dict[str, str]:
    """kubectl's environment with a kubeconfig whose user is floe/agent's token from ``kubectl create token``."""
    await cluster.ok("create", "serviceaccount", "agent", "-n", "floe")
    await cluster.ok("apply", "-f", "-", stdin=RBAC)
    token = (await cluster.ok("create", "token", "agent", "-n", "floe", "--duration", "20m")).strip()
    config = yaml.safe_load(await anyio.Path(cluster.env["KUBECONFIG"]).read_text())
    for user in config["users"]:
        user["user"] = {"token": token}
    path = cluster.folder / "agent.kubeconfig"
    await anyio.Path(path).write_text(yaml.safe_dump(config))
    return {**cluster.env, "KUBECONFIG": str(path)}


async def _run(cluster: Cluster, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    done = await anyio.run_process(cluster.argv(*args), env=env, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def test_kubectl_auth_can_i_whoami_and_list_with_a_service_account_token(kubectl_cluster: Cluster) -> None:
    env = await _as_agent(kubectl_cluster)
    answers = {
        args: await _run(kubectl_cluster, env, "auth", "can-i", *args, "-n", "floe")
        for args in (("list", "pods"), ("delete", "pods"), ("get", "pods", "--subresource=log"), ("list", "secrets"))
    }
    assert {args: (code, out.strip()) for args, (code, out, _) in answers.items()} == {
        ("list", "pods"): (0, "yes"),
        ("delete", "pods"): (1, "no"),
        ("get", "pods", "--subresource=log"): (0, "yes"),
        ("list", "secrets"): (1, "no"),
    }
    code, out, err = await _run(kubectl_cluster, env, "auth", "whoami")
    assert code == 0, err
    assert "system:serviceaccount:floe:agent" in out and "system:serviceaccounts:floe" in out
    code, out, err = await _run(kubectl_cluster, env, "auth", "can-i", "--list", "-n", "floe")
    assert code == 0, err
    rows = {tuple(line.split()) for line in out.splitlines()[1:]}
    assert ("pods", "[]", "[]", "[list]") in rows and ("pods/log", "[]", "[]", "[get]") in rows
    assert ("selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]") in rows


async def test_kubectl_prints_the_forbidden_error_of_a_real_cluster(kubectl_cluster: Cluster) -> None:
    env = await _as_agent(kubectl_cluster)
    code, _, err = await _run(kubectl_cluster, env, "get", "pods", "-n", "floe")
    assert code == 0, err
    code, _, err = await _run(kubectl_cluster, env, "get", "deployments", "-n", "floe")
    assert code == 1
    assert err.strip() == (
        'Error from server (Forbidden): deployments.apps is forbidden: User "system:serviceaccount:floe:agent" '
        'cannot list resource "deployments" in API group "apps" in the namespace "floe"'
    )
    await kubectl_cluster.ok("delete", "serviceaccount", "agent", "-n", "floe")
    code, _, err = await _run(kubectl_cluster, env, "get", "pods", "-n", "floe")
    assert code == 1 and "Unauthorized" in err  # the account's tokens went with it
