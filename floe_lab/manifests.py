"""The lab's cluster, as Kubernetes objects with the upstream Floe chart names, labels, ports and secrets.

The lab must look like the seed report's cluster to anything that reads the Kubernetes API: by default namespace
``floe``; releases floe-infra, floe-dagster and floe-cube; Services on the chart ports; the
``floe-demo-credentials`` secret; the platform config map; the Helm hook Jobs. Every name comes from the
settings' :class:`~floe_lab.names.LabNames`, so the same stack can be deployed under other names. Faults are
applied here as *real* differences in the objects (a Secret that is not created, a Job that is not there, an env
var that is not set), so the lab's kubelet turns them into real process states. Each pod template names its
local launcher in the annotation ``lab.floe.dev/launch``; that is the only lab-specific field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from floe_lab.names import LabNames
from floe_lab.platform_file import platform_yaml

__all__ = [
    "LAUNCH",
    "LabSettings",
    "container",
    "deployment",
    "infra_objects",
    "job",
    "labels",
    "meta",
    "secret_env",
    "service",
    "template",
]

LAUNCH = "lab.floe.dev/launch"
JsonObj = dict[str, Any]


@dataclass(frozen=True)
class LabSettings:
    """Credentials and names shared by the manifests (the lab's secrets are its own, throwaway values)."""

    pg_password: str
    client_id: str = "demo_client"
    # The lab's own throwaway credentials, the upstream chart's demo values (never used outside loopback).
    client_secret: str = "demo_secret_k8s"  # noqa: S105
    aws_key: str = "test"
    aws_secret: str = "test"  # noqa: S105
    cube_secret: str = "lab-cube-api-secret"  # noqa: S105
    faults: frozenset[str] = field(default_factory=frozenset)
    names: LabNames = field(default_factory=LabNames)


def labels(component: str, instance: str, name: str = "floe-infrastructure") -> JsonObj:
    """The chart's labels: ``name`` is the chart's (fixed), ``instance`` the release's (``<release>-infra``)."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    }


def meta(name: str, lbls: Mapping[str, str], namespace: str, **extra: Any) -> JsonObj:
    return {"name": name, "namespace": namespace, "labels": dict(lbls), **extra}


def secret_env(var: str, secret: str, key: str) -> JsonObj:
    return {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def container(
    name: str,
    ports: Mapping[str, int],
    env: list[JsonObj] | None = None,
    env_from: list[JsonObj] | None = None,
    mounts: list[JsonObj] | None = None,
) -> JsonObj:
    c: JsonObj = {
        "name": name,
        "image": f"floe-lab/{name}:local",
        "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in ports.items()],
    }
    if env:
        c["env"] = env
    if env_from:
        c["envFrom"] = env_from
    if mounts:
        c["volumeMounts"] = mounts
    return c


def template(lbls: Mapping[str, str], launch: str, ctr: JsonObj, volumes: list[JsonObj] | None = None) -> JsonObj:
    spec: JsonObj = {"containers": [ctr], "restartPolicy": "Always"}
    if volumes:
        spec["volumes"] = volumes
    return {"metadata": {"labels": dict(lbls), "annotations": {LAUNCH: launch}}, "spec": spec}


def deployment(name: str, lbls: Mapping[str, str], tmpl: JsonObj, *, ns: str, kind: str = "Deployment") -> JsonObj:
    spec: JsonObj = {"replicas": 1, "selector": {"matchLabels": dict(lbls)}, "template": tmpl}
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta(name, lbls, ns), "spec": spec}


def service(
    name: str,
    lbls: Mapping[str, str],
    ports: Mapping[str, tuple[int, str]],
    node_ports: Mapping[str, int] | None = None,
    *,
    ns: str,
) -> JsonObj:
    spec: JsonObj = {
        "selector": dict(lbls),
        "type": "NodePort" if node_ports else "ClusterIP",
        "ports": [
            {
                "name": n,
                "port": p,
                "targetPort": t,
                "protocol": "TCP",
                **({"nodePort": node_ports[n]} if node_ports and n in node_ports else {}),
            }
            for n, (p, t) in ports.items()
        ],
    }
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, lbls, ns), "spec": spec}


def job(name: str, lbls: Mapping[str, str], launch: str, env: list[JsonObj], *, ns: str) -> JsonObj:
    tmpl = template(lbls, launch, container(name, {}, env=env))
    tmpl["spec"]["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(name, lbls, ns, annotations={"helm.sh/hook": "post-install", "helm.sh/hook-weight": "0"}),
        "spec": {"backoffLimit": 0, "template": tmpl},
    }


def infra_objects(s: LabSettings) -> list[JsonObj]:
    """Namespace-level config and the infra and cube releases (``<release>-infra``, ``<release>-cube``)."""
    n = s.names
    ns, infra, creds_secret = n.namespace, n.infra, n.credentials_secret
    out: list[JsonObj] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"name": ns}}}]
    out.append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": meta(creds_secret, labels("credentials", infra), ns),
            "stringData": {
                "polaris-client-id": s.client_id,
                "polaris-client-secret": s.client_secret,
                "aws-access-key-id": s.aws_key,
                "aws-secret-access-key": s.aws_secret,
                "postgresql-password": s.pg_password,
                "postgresql-username": "postgres",
                "cube-api-secret": s.cube_secret,
                "cube-sql-password": s.cube_secret,
            },
        }
    )
    out.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(f"{infra}-platform-config", labels("platform-config", infra), ns),
            "data": {
                "platform.yaml": platform_yaml(n),
                "POLARIS_WAREHOUSE": n.warehouse,
                "OTEL_SERVICE_NAME": n.service_name,
            },
        }
    )
    pg = labels("postgresql-subchart", infra)
    pg_tmpl = template(pg, "adopt:postgres", container("postgresql", {"tcp-postgresql": 5432}))
    out.append(deployment(f"{infra}-postgresql", pg, pg_tmpl, ns=ns, kind="StatefulSet"))
    out.append(service(f"{infra}-postgresql", pg, {"tcp-postgresql": (5432, "tcp-postgresql")}, ns=ns))
    ls = labels("localstack", infra)
    s3_env = [
        secret_env("AWS_ACCESS_KEY_ID", creds_secret, "aws-access-key-id"),
        {"name": "MOTO_ACCOUNT_ID", "value": "000000000000"},
        {"name": "MOTO_IAM_LOAD_MANAGED_POLICIES", "value": "true"},
    ]
    out.append(
        deployment(
            f"{infra}-localstack", ls, template(ls, "s3", container("localstack", {"edge": 4566}, env=s3_env)), ns=ns
        )
    )
    out.append(service(f"{infra}-localstack", ls, {"edge": (4566, "edge")}, {"edge": 30566}, ns=ns))
    pol = labels("polaris", infra)
    pol_env = [
        {"name": "POLARIS_BOOTSTRAP_CREDENTIALS", "value": f"POLARIS,{s.client_id},{s.client_secret}"},
        secret_env("AWS_ACCESS_KEY_ID", creds_secret, "aws-access-key-id"),
        secret_env("AWS_SECRET_ACCESS_KEY", creds_secret, "aws-secret-access-key"),
        secret_env("POLARIS_PG_PASSWORD", creds_secret, "postgresql-password"),
    ]
    pol_ctr = container("polaris", {"http": 8181, "management": 8182}, env=pol_env)
    out.append(deployment(f"{infra}-polaris", pol, template(pol, "polaris", pol_ctr), ns=ns))
    pol_ports = {"http": (8181, "http"), "management": (8182, "management")}
    out.append(service(f"{infra}-polaris", pol, pol_ports, {"http": 30181}, ns=ns))
    jg = labels("jaeger", infra)
    jg_ctr = container("jaeger", {"query": 16686, "otlp-grpc": 4317, "otlp-http": 4318})
    out.append(deployment(f"{infra}-jaeger", jg, template(jg, "jaeger", jg_ctr), ns=ns))
    out.append(service(f"{infra}-jaeger-query", jg, {"query": (16686, "query")}, ns=ns))
    out.append(service(f"{infra}-jaeger-query-nodeport", jg, {"query": (16686, "query")}, {"query": 30686}, ns=ns))
    otlp = {"otlp-grpc": (4317, "otlp-grpc"), "otlp-http": (4318, "otlp-http")}
    out.append(service(f"{infra}-jaeger-collector", jg, otlp, ns=ns))
    mq = labels("marquez", infra)
    mq_env = [secret_env("POSTGRES_PASSWORD", creds_secret, "postgresql-password")]
    mq_ctr = container("marquez", {"http": 5000, "admin": 5001}, env=mq_env)
    out.append(deployment(f"{infra}-marquez", mq, template(mq, "marquez", mq_ctr), ns=ns))
    mq_ports = {"http": (5000, "http"), "admin": (5001, "admin")}
    out.append(service(f"{infra}-marquez", mq, mq_ports, {"http": 30500}, ns=ns))
    cube = labels("api", n.cube, name="cube")
    cube_env = [
        secret_env("CUBEJS_API_SECRET", creds_secret, "cube-api-secret"),
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": f"http://{infra}-jaeger-collector:4317"},
        {"name": "OPENLINEAGE_URL", "value": f"http://{infra}-marquez:5000"},
    ]
    out.append(
        deployment(
            f"{n.cube}-api", cube, template(cube, "cube", container("cube", {"http": 4000}, env=cube_env)), ns=ns
        )
    )
    out.append(service(f"{n.cube}-api", cube, {"http": (4000, "http")}, {"http": 30400}, ns=ns))
    return out
