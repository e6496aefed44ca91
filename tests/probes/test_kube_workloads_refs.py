"""kubernetes probe, config references (issue 13, class 2): against the lab's Kubernetes API stand-in, a pod that
references Secrets and ConfigMaps every way a pod can (env ``valueFrom``, ``envFrom``, a volume with ``items``, a
projected volume's sources), required and ``optional: true``; what resolves to nothing is named with the variable
or mount it leaves empty, and Secrets are read by name only (least privilege: ``get``, never ``list``)."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes_asyncio import client

from floe_agents.analysis import analyze
from floe_agents.findings import Status
from floe_agents.probes.kubernetes import CODES
from floe_agents.rules import builtin_rules
from floe_agents.topology import floe_topology
from tests.support.kube import NS
from tests.support.kube_standin import investigate, kube_standin
from tests.support.probes import grouped_by_code

USER_CODE = {"app.kubernetes.io/name": "dagster", "component": "user-deployments", "deployment": "floe-demo"}


def env(name: str, kind: str, ref: str, key: str, *, optional: bool = False) -> dict[str, Any]:
    selector = {"name": ref, "key": key, **({"optional": True} if optional else {})}
    return {"name": name, "valueFrom": {"secretKeyRef" if kind == "secret" else "configMapKeyRef": selector}}


CONTAINER = {
    "name": "main",
    "env": [
        env("POLARIS_URI", "configmap", "floe-platform", "POLARIS_URI"),  # the ConfigMap lacks the key
        env("OTEL_EXPORTER_OTLP_ENDPOINT", "configmap", "floe-telemetry", "endpoint", optional=True),  # no ConfigMap
        env("LINEAGE_TOKEN", "secret", "floe-creds", "lineage-token", optional=True),  # the Secret lacks the key
        env("AWS_ACCESS_KEY_ID", "secret", "floe-creds", "aws-access-key-id"),  # resolves
    ],
    "envFrom": [{"configMapRef": {"name": "floe-env"}}, {"secretRef": {"name": "celery", "optional": True}}],
    "volumeMounts": [{"name": "tls", "mountPath": "/etc/tls"}, {"name": "both", "mountPath": "/etc/floe"}],
}
VOLUMES = [
    {"name": "tls", "secret": {"secretName": "floe-tls", "optional": True}},
    {"name": "both", "projected": {"sources": [
        {"secret": {"name": "floe-projected", "items": [{"key": "token", "path": "token"}]}},
        {"configMap": {"name": "floe-platform", "items": [{"key": "POLARIS_WAREHOUSE", "path": "warehouse"}]}},
    ]}},
]  # fmt: skip


async def test_every_reference_of_a_pod_is_judged(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    get = client.CoreV1Api.read_namespaced_secret

    def by_name(api: client.CoreV1Api, name: str, namespace: str, **kwargs: Any) -> Any:
        read.append(name)
        return get(api, name, namespace, **kwargs)

    def never(*_: object, **__: object) -> None:
        raise AssertionError("Secrets are read by name, never listed")

    monkeypatch.setattr(client.CoreV1Api, "read_namespaced_secret", by_name)
    monkeypatch.setattr(client.CoreV1Api, "list_namespaced_secret", never)
    async with kube_standin() as standin:
        core: Any = client.CoreV1Api(standin.api)
        await core.create_namespaced_config_map(NS, {"metadata": {"name": "floe-platform"},
                                                     "data": {"POLARIS_WAREHOUSE": "demo"}})  # fmt: skip
        await core.create_namespaced_secret(NS, {"metadata": {"name": "floe-creds"},
                                                 "stringData": {"aws-access-key-id": "AKIA0123456789"}})  # fmt: skip
        await core.create_namespaced_secret(NS, {"metadata": {"name": "unreferenced"}, "stringData": {"k": "v"}})
        waiting = {"waiting": {"reason": "CreateContainerConfigError", "message": 'configmap "floe-env" not found'}}
        status = {"phase": "Pending", "containerStatuses": [{"name": "main", "state": waiting}]}
        owner = await standin.owner("Deployment", "floe-dagster-user-deployments-floe-demo", USER_CODE)
        await standin.pod("floe-demo-1", USER_CODE, CONTAINER, status, owner=owner, pod_spec={"volumes": VOLUMES})
        found = grouped_by_code(await investigate(standin), CODES)
    assert sorted(read) == ["celery", "floe-creds", "floe-projected", "floe-tls"]  # the referenced ones, by name
    judged = {(f.code, f.subject): f for code in found if code.startswith(("k8s.secret", "k8s.configmap"))
              for f in found[code]}  # fmt: skip
    assert sorted(judged) == [
        ("k8s.configmap_key_missing", "configmap/floe-platform/POLARIS_URI"),
        ("k8s.configmap_missing", "configmap/floe-env/*"),  # envFrom: the ConfigMap as a whole
        ("k8s.secret_missing", "secret/floe-projected/token"),  # a projected volume's source names it ``name``
    ]
    assert {f.component for f in judged.values()} == {"dagster-user-code"}
    assert (
        judged["k8s.configmap_key_missing", "configmap/floe-platform/POLARIS_URI"].evidence["env_var"] == "POLARIS_URI"
    )
    optional = {f.subject: f for f in found["k8s.optional_ref_unresolved"]}
    assert sorted(optional) == [  # the optional envFrom (the Dagster chart's Celery Secret) is not reported
        "optional/configmap/floe-telemetry/endpoint", "optional/secret/floe-creds/lineage-token",
        "optional/secret/floe-tls/*"]  # fmt: skip
    assert {f.status for f in optional.values()} == {Status.WARN}
    telemetry, token = (
        optional["optional/configmap/floe-telemetry/endpoint"],
        optional["optional/secret/floe-creds/lineage-token"],
    )
    assert (telemetry.evidence["env_var"], telemetry.evidence["exists"]) == ("OTEL_EXPORTER_OTLP_ENDPOINT", False)
    assert (token.evidence["env_var"], token.evidence["exists"], token.evidence["kind"]) == (
        "LINEAGE_TOKEN",
        True,
        "Secret",
    )
    assert optional["optional/secret/floe-tls/*"].evidence["mounts"] == ["main:/etc/tls"]
    assert "env OTEL_EXPORTER_OTLP_ENDPOINT unset" in telemetry.summary
    assert "AKIA" not in str(found)  # Secret values are never kept, only key names
    [config] = found["k8s.pod_config_error"]  # waiting on a reference: no class of its own
    assert "class" not in config.evidence


async def test_a_missing_configmap_is_the_root_cause_of_the_pods_that_need_it() -> None:
    async with kube_standin() as standin:
        web = {"app.kubernetes.io/component": "dagster-webserver"}
        mount = {"name": "main", "volumeMounts": [{"name": "instance", "mountPath": "/opt/dagster/dagster_home"}]}
        waiting = {
            "waiting": {"reason": "CreateContainerConfigError", "message": 'configmap "floe-instance" not found'}
        }
        owner = await standin.owner("Deployment", "floe-dagster-dagster-webserver", web)
        await standin.pod("floe-web-1", web, mount, {"phase": "Pending", "containerStatuses": [
            {"name": "main", "state": waiting}]}, owner=owner,
            pod_spec={"volumes": [{"name": "instance", "configMap": {"name": "floe-instance"}}]})  # fmt: skip
        found = await investigate(standin)
    problems = [f for f in found if f.is_problem]
    [cause] = analyze(problems, builtin_rules(), floe_topology()).root_causes
    assert (cause.rule, cause.cause.code, cause.component) == (
        "missing-configmap",
        "k8s.configmap_missing",
        "dagster-webserver",
    )
    assert "k8s.pod_config_error" in {s.finding.code for s in cause.symptoms}
    assert cause.cause.evidence["configmap_name"] == "floe-instance"


async def test_a_crash_naming_a_variable_an_optional_reference_left_unset_is_its_symptom() -> None:
    """The optional ConfigMap is referenced from two components; the one that crashes names the variable in its
    last words, so it is linked to the empty reference (filed under the other), which is the root cause."""
    telemetry = env("OTEL_EXPORTER_OTLP_ENDPOINT", "configmap", "floe-telemetry", "endpoint", optional=True)
    started = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    running = {"phase": "Running", "containerStatuses": [{"name": "main", "ready": True, "state": started}]}
    last = {"terminated": {"exitCode": 1, "reason": "Error"}}
    crashing = {"phase": "Running", "containerStatuses": [{"name": "main", "restartCount": 5, "lastState": last,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}  # fmt: skip
    async with kube_standin() as standin:
        cube = {"app.kubernetes.io/name": "cube"}
        daemon = {"component": "dagster-daemon"}
        await standin.pod("floe-cube-api-1", cube, {"name": "main", "env": [telemetry]}, running,
                          owner=await standin.owner("Deployment", "floe-cube-api", cube))  # fmt: skip
        said = "Traceback (most recent call last):\nKeyError: 'OTEL_EXPORTER_OTLP_ENDPOINT'\n"
        await standin.pod("floe-dagster-daemon-1", daemon, {"name": "main", "env": [telemetry]}, crashing,
                          owner=await standin.owner("Deployment", "floe-dagster-daemon", daemon), log=said)  # fmt: skip
        found = grouped_by_code(await investigate(standin), CODES)
    [empty], [crash] = found["k8s.optional_ref_unresolved"], found["k8s.pod_crashloop"]
    assert (empty.component, crash.component) == ("cube", "dagster-daemon")
    assert (crash.evidence["class"], crash.evidence["empty_env_var"]) == ("config_error", "OTEL_EXPORTER_OTLP_ENDPOINT")
    [cause] = analyze([empty, crash], builtin_rules(), floe_topology()).root_causes
    assert (cause.rule, cause.component, [s.finding.code for s in cause.symptoms]) == (
        "optional-reference-empty", "cube", ["k8s.pod_crashloop"])  # fmt: skip
    assert cause.title == (
        "Optional ConfigMap floe-telemetry resolves to nothing: env OTEL_EXPORTER_OTLP_ENDPOINT unset (cube)"
    )
