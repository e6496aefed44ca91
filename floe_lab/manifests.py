"""The lab's cluster, as Kubernetes objects with the upstream Floe chart names, labels, ports and secrets.

The lab must look like the seed report's cluster to anything that reads the Kubernetes API: namespace ``floe``;
releases floe-infra, floe-dagster and floe-cube; Services on the chart ports; the ``floe-demo-credentials``
secret; the platform config map; the Helm hook Jobs. Faults are applied here as *real* differences in the
objects (a Secret that is not created, a Job that is not there, an env var that is not set), so the lab's
kubelet turns them into real process states. Each pod template names its local launcher in the annotation
``lab.floe.dev/launch``; that is the only lab-specific field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = [
    "LAUNCH",
    "NS",
    "LabSettings",
    "container",
    "deployment",
    "infra_objects",
    "job",
    "labels",
    "meta",
    "platform_yaml",
    "secret_env",
    "service",
    "template",
]

LAUNCH = "lab.floe.dev/launch"
NS = "floe"
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
    cube_secret: str = "floe-cube-lab-secret"  # noqa: S105
    warehouse: str = "demo_catalog"
    service_name: str = "floe-k8s-local"
    faults: frozenset[str] = field(default_factory=frozenset)


def labels(component: str, instance: str = "floe-infra", name: str = "floe-infrastructure") -> JsonObj:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    }


def meta(name: str, lbls: Mapping[str, str], **extra: Any) -> JsonObj:
    return {"name": name, "namespace": NS, "labels": dict(lbls), **extra}


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


def deployment(name: str, lbls: Mapping[str, str], tmpl: JsonObj, kind: str = "Deployment") -> JsonObj:
    spec: JsonObj = {"replicas": 1, "selector": {"matchLabels": dict(lbls)}, "template": tmpl}
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta(name, lbls), "spec": spec}


def service(
    name: str,
    lbls: Mapping[str, str],
    ports: Mapping[str, tuple[int, str]],
    node_ports: Mapping[str, int] | None = None,
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
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, lbls), "spec": spec}


def job(name: str, lbls: Mapping[str, str], launch: str, env: list[JsonObj]) -> JsonObj:
    tmpl = template(lbls, launch, container(name, {}, env=env))
    tmpl["spec"]["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(name, lbls, annotations={"helm.sh/hook": "post-install", "helm.sh/hook-weight": "0"}),
        "spec": {"backoffLimit": 0, "template": tmpl},
    }


def platform_yaml(s: LabSettings) -> str:
    """The platform.yaml the chart injects (in-cluster URLs), as in upstream's local platform file."""
    endpoint = "http://floe-infra-localstack:4566"
    storage = {
        layer: {
            "type": "s3",
            "endpoint": endpoint,
            "region": "us-east-1",
            "bucket": f"iceberg-{layer}",
            "path_style_access": True,
            "credentials": {"mode": "static", "secret_ref": "aws-credentials"},
        }
        for layer in ("bronze", "silver", "gold")
    }
    doc = {
        "version": "1.2.0",
        "layers": {
            layer: {"storage_ref": layer, "catalog_ref": "default", "namespace": layer}
            for layer in ("bronze", "silver", "gold")
        },
        "storage": {**storage, "default": storage["bronze"]},
        "catalogs": {
            "default": {
                "type": "polaris",
                "uri": "http://floe-infra-polaris:8181/api/catalog",
                "warehouse": s.warehouse,
                "namespace": "default",
                "access_delegation": "none",
                "credentials": {
                    "mode": "oauth2",
                    "client_id": {"secret_ref": "polaris-client-id"},
                    "client_secret": {"secret_ref": "polaris-client-secret"},
                    "scope": "PRINCIPAL_ROLE:service_admin",
                },
            }
        },
        "observability": {
            "traces": True,
            "lineage": True,
            "otlp_endpoint": "http://floe-infra-jaeger-collector:4317",
            "lineage_endpoint": "http://floe-infra-marquez:5000/api/v1/lineage",
            "attributes": {"service.name": s.service_name, "deployment.environment": "k8s-local"},
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


def infra_objects(s: LabSettings) -> list[JsonObj]:
    """Namespace-level config and the floe-infra and floe-cube releases."""
    out: list[JsonObj] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {"name": NS}}}]
    creds = labels("credentials")
    out.append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": meta("floe-demo-credentials", creds),
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
            "metadata": meta("floe-infra-platform-config", labels("platform-config")),
            "data": {
                "platform.yaml": platform_yaml(s),
                "POLARIS_WAREHOUSE": s.warehouse,
                "OTEL_SERVICE_NAME": s.service_name,
            },
        }
    )
    pg = labels("postgresql-subchart")
    out.append(
        deployment(
            "floe-infra-postgresql",
            pg,
            template(pg, "adopt:postgres", container("postgresql", {"tcp-postgresql": 5432})),
            kind="StatefulSet",
        )
    )
    out.append(service("floe-infra-postgresql", pg, {"tcp-postgresql": (5432, "tcp-postgresql")}))
    ls = labels("localstack")
    out.append(
        deployment(
            "floe-infra-localstack",
            ls,
            template(
                ls,
                "s3",
                container(
                    "localstack",
                    {"edge": 4566},
                    env=[
                        secret_env("AWS_ACCESS_KEY_ID", "floe-demo-credentials", "aws-access-key-id"),
                        {"name": "MOTO_ACCOUNT_ID", "value": "000000000000"},
                        {"name": "MOTO_IAM_LOAD_MANAGED_POLICIES", "value": "true"},
                    ],
                ),
            ),
        )
    )
    out.append(service("floe-infra-localstack", ls, {"edge": (4566, "edge")}, {"edge": 30566}))
    pol = labels("polaris")
    out.append(
        deployment(
            "floe-infra-polaris",
            pol,
            template(
                pol,
                "polaris",
                container(
                    "polaris",
                    {"http": 8181, "management": 8182},
                    env=[
                        {"name": "POLARIS_BOOTSTRAP_CREDENTIALS", "value": f"POLARIS,{s.client_id},{s.client_secret}"},
                        secret_env("AWS_ACCESS_KEY_ID", "floe-demo-credentials", "aws-access-key-id"),
                        secret_env("AWS_SECRET_ACCESS_KEY", "floe-demo-credentials", "aws-secret-access-key"),
                        secret_env("POLARIS_PG_PASSWORD", "floe-demo-credentials", "postgresql-password"),
                    ],
                ),
            ),
        )
    )
    out.append(
        service(
            "floe-infra-polaris", pol, {"http": (8181, "http"), "management": (8182, "management")}, {"http": 30181}
        )
    )
    jg = labels("jaeger")
    out.append(
        deployment(
            "floe-infra-jaeger",
            jg,
            template(jg, "jaeger", container("jaeger", {"query": 16686, "otlp-grpc": 4317, "otlp-http": 4318})),
        )
    )
    out.append(service("floe-infra-jaeger-query", jg, {"query": (16686, "query")}))
    out.append(service("floe-infra-jaeger-query-nodeport", jg, {"query": (16686, "query")}, {"query": 30686}))
    out.append(
        service("floe-infra-jaeger-collector", jg, {"otlp-grpc": (4317, "otlp-grpc"), "otlp-http": (4318, "otlp-http")})
    )
    mq = labels("marquez")
    out.append(
        deployment(
            "floe-infra-marquez",
            mq,
            template(
                mq,
                "marquez",
                container(
                    "marquez",
                    {"http": 5000, "admin": 5001},
                    env=[secret_env("POSTGRES_PASSWORD", "floe-demo-credentials", "postgresql-password")],
                ),
            ),
        )
    )
    out.append(service("floe-infra-marquez", mq, {"http": (5000, "http"), "admin": (5001, "admin")}, {"http": 30500}))
    cube = labels("api", instance="floe-cube", name="cube")
    out.append(
        deployment(
            "floe-cube-api",
            cube,
            template(
                cube,
                "cube",
                container(
                    "cube",
                    {"http": 4000},
                    env=[
                        secret_env("CUBEJS_API_SECRET", "floe-demo-credentials", "cube-api-secret"),
                        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://floe-infra-jaeger-collector:4317"},
                        {"name": "OPENLINEAGE_URL", "value": "http://floe-infra-marquez:5000"},
                    ],
                ),
            ),
        )
    )
    out.append(service("floe-cube-api", cube, {"http": (4000, "http")}, {"http": 30400}))
    return out
