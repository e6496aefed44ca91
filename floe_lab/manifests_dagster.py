"""The floe-dagster release and the Helm hook Jobs of the lab cluster, with the seed's faults applied.

Faults live in the objects, as they did in the seed: ``missing-secret`` leaves out the Secret the Dagster pods
reference (the chart's fallback name ``floe-dagster-postgresql-secret``); ``unmigrated-schema`` turns table
auto-creation off and drops the instance-migrate hook Job; ``missing-warehouse``/``missing-namespace``/
``missing-raw-tables`` drop or narrow the init Jobs; ``s3-endpoint-mismatch`` makes the catalog-init Job
register a storage endpoint the catalog cannot reach (``s3-port-mismatch``: the right Service, a port it does not
serve); ``sts-credential-vending`` makes it register a roleArn that
Polaris must assume at an STS endpoint the cluster cannot reach; ``no-telemetry`` leaves the user code's OTLP and
OpenLineage settings out.
"""

from __future__ import annotations

import yaml

from floe_lab.manifests import (
    NS,
    JsonObj,
    LabSettings,
    container,
    deployment,
    job,
    labels,
    meta,
    secret_env,
    service,
    template,
)

__all__ = ["DAGSTER_SECRET", "MISMATCHED_ENDPOINT", "dagster_objects", "hook_jobs"]

DAGSTER_SECRET = "floe-dagster-postgresql-secret"  # noqa: S105 - a Secret's name
# The catalog vends credentials with AssumeRole at AWS's STS, a host the cluster cannot reach (no egress):
# Polaris' default when a chart sets roleArn without stsUnavailable/stsEndpoint for LocalStack.
STS_VENDING = [
    {"name": "STS_ROLE_ARN", "value": "arn:aws:iam::000000000000:role/polaris-storage-role"},
    {"name": "STS_ENDPOINT", "value": "https://sts.us-east-1.amazonaws.com"},
]
WRONG_PORT_ENDPOINT = "http://floe-infra-localstack:4567"  # the right Service, a port it does not serve
MISMATCHED_ENDPOINT = "http://localstack:4566"  # a name that only exists on the laptop's /etc/hosts, not in cluster
CREDS = "floe-demo-credentials"


def _dagster_labels(component: str) -> dict[str, str]:
    return labels(component, instance="floe-dagster", name="dagster")


def instance_yaml(s: LabSettings) -> str:
    """The chart's floe-dagster-instance ConfigMap: Postgres storage, password from DAGSTER_PG_PASSWORD."""
    doc = {
        "storage": {
            "postgres": {
                "should_autocreate_tables": "unmigrated-schema" not in s.faults,
                "postgres_db": {
                    "username": "postgres",
                    "password": {"env": "DAGSTER_PG_PASSWORD"},
                    "hostname": "floe-infra-postgresql",
                    "port": 5432,
                    "db_name": "dagster",
                    "scheme": "postgresql+psycopg2",
                },
            }
        }
    }
    return yaml.safe_dump(doc, sort_keys=False)


def _pg_env() -> list[JsonObj]:
    return [secret_env("DAGSTER_PG_PASSWORD", DAGSTER_SECRET, "postgresql-password")]


def _user_code_env(s: LabSettings) -> list[JsonObj]:
    env: list[JsonObj] = [
        {"name": "POLARIS_URI", "value": "http://floe-infra-polaris:8181/api/catalog"},
        {
            "name": "POLARIS_WAREHOUSE",
            "valueFrom": {"configMapKeyRef": {"name": "floe-infra-platform-config", "key": "POLARIS_WAREHOUSE"}},
        },
        secret_env("POLARIS_CLIENT_ID", CREDS, "polaris-client-id"),
        secret_env("POLARIS_CLIENT_SECRET", CREDS, "polaris-client-secret"),
        {"name": "POLARIS_SCOPE", "value": "PRINCIPAL_ROLE:ALL"},
        secret_env("AWS_ACCESS_KEY_ID", CREDS, "aws-access-key-id"),
        secret_env("AWS_SECRET_ACCESS_KEY", CREDS, "aws-secret-access-key"),
        {"name": "AWS_REGION", "value": "us-east-1"},
        {"name": "AWS_ENDPOINT_URL", "value": "http://floe-infra-localstack:4566"},
        {"name": "FLOE_PLATFORM_FILE", "value": "/etc/floe/platform.yaml"},
        # The run workers the code server launches open the instance too (the chart gives them the password).
        secret_env("DAGSTER_PG_PASSWORD", CREDS, "postgresql-password"),
    ]
    if "no-telemetry" not in s.faults:
        env += [
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://floe-infra-jaeger-collector:4317"},
            {
                "name": "OTEL_SERVICE_NAME",
                "valueFrom": {"configMapKeyRef": {"name": "floe-infra-platform-config", "key": "OTEL_SERVICE_NAME"}},
            },
            {"name": "OPENLINEAGE_URL", "value": "http://floe-infra-marquez:5000"},
            {"name": "OPENLINEAGE_NAMESPACE", "value": "floe-demo"},
        ]
    return env


def dagster_objects(s: LabSettings) -> list[JsonObj]:
    out: list[JsonObj] = []
    if "missing-secret" not in s.faults:
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": meta(DAGSTER_SECRET, _dagster_labels("postgresql")),
                "stringData": {"postgresql-password": s.pg_password},
            }
        )
    out.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta("floe-dagster-instance", _dagster_labels("instance")),
            "data": {"dagster.yaml": instance_yaml(s)},
        }
    )
    home = [{"name": "dagster-instance", "mountPath": "/opt/dagster/dagster_home"}]
    volumes = [{"name": "dagster-instance", "configMap": {"name": "floe-dagster-instance"}}]
    web = _dagster_labels("dagster-webserver")
    out.append(
        deployment(
            "floe-dagster-dagster-webserver",
            web,
            template(
                web,
                "dagster-webserver",
                container("dagster-webserver", {"http": 80}, env=_pg_env(), mounts=home),
                volumes,
            ),
        )
    )
    out.append(service("floe-dagster-dagster-webserver", web, {"http": (80, "http")}))
    out.append(service("floe-dagster-dagster-webserver-nodeport", web, {"http": (80, "http")}, {"http": 30000}))
    daemon = _dagster_labels("dagster-daemon")
    out.append(
        deployment(
            "floe-dagster-daemon",
            daemon,
            template(daemon, "dagster-daemon", container("dagster-daemon", {}, env=_pg_env(), mounts=home), volumes),
        )
    )
    user = {**_dagster_labels("user-deployments"), "deployment": "floe-demo"}
    out.append(
        deployment(
            "floe-dagster-dagster-user-deployments-floe-demo",
            user,
            template(
                user,
                "dagster-code-server",
                container("floe-demo", {"grpc": 3030}, env=_user_code_env(s), mounts=home),
                volumes,
            ),
        )
    )
    out.append(service("floe-dagster-dagster-user-deployments-floe-demo", user, {"grpc": (3030, "grpc")}))
    return out


def hook_jobs(s: LabSettings) -> list[JsonObj]:
    """The post-install hook Jobs, in the order Helm runs them (hook weights)."""
    creds = [
        secret_env("AWS_ACCESS_KEY_ID", CREDS, "aws-access-key-id"),
        secret_env("AWS_SECRET_ACCESS_KEY", CREDS, "aws-secret-access-key"),
        secret_env("POLARIS_CLIENT_ID", CREDS, "polaris-client-id"),
        secret_env("POLARIS_CLIENT_SECRET", CREDS, "polaris-client-secret"),
    ]
    out = [job("floe-infra-localstack-init", labels("localstack-init"), "job:localstack-init", creds[:2])]
    if "missing-warehouse" not in s.faults:
        endpoint = (
            MISMATCHED_ENDPOINT if "s3-endpoint-mismatch" in s.faults
            else WRONG_PORT_ENDPOINT if "s3-port-mismatch" in s.faults
            else "http://floe-infra-localstack:4566"
        )  # fmt: skip
        namespaces = "bronze,silver,gold" if "missing-namespace" in s.faults else "demo,bronze,silver,gold"
        out.append(
            job(
                "floe-infra-polaris-init",
                labels("polaris-init"),
                "job:polaris-init",
                [
                    *creds,
                    {"name": "POLARIS_URI", "value": "http://floe-infra-polaris:8181/api/catalog"},
                    {"name": "POLARIS_MANAGEMENT_URI", "value": "http://floe-infra-polaris:8181/api/management/v1"},
                    {"name": "CATALOG_NAME", "value": s.warehouse},
                    {"name": "STORAGE_ENDPOINT", "value": endpoint},
                    {"name": "PATH_STYLE_ACCESS", "value": "false" if "s3-endpoint-mismatch" in s.faults else "true"},
                    {"name": "NAMESPACES", "value": namespaces},
                    *(STS_VENDING if "sts-credential-vending" in s.faults else []),
                ],
            )
        )
        if "missing-raw-tables" not in s.faults:
            out.append(
                job(
                    "floe-infra-seed-data",
                    labels("seed-data"),
                    "job:seed-data",
                    [
                        *creds,
                        {"name": "POLARIS_URI", "value": "http://floe-infra-polaris:8181/api/catalog"},
                        {"name": "POLARIS_WAREHOUSE", "value": s.warehouse},
                        {"name": "SEED_NAMESPACE", "value": "demo"},
                    ],
                )
            )
    if "unmigrated-schema" not in s.faults:
        out.append(
            job(
                "floe-dagster-dagster-webserver-instance-migrate",
                _dagster_labels("migrate"),
                "job:dagster-migrate",
                _pg_env(),
            )
        )
    for weight, obj in enumerate(out):
        obj["metadata"]["annotations"]["helm.sh/hook-weight"] = str(weight)
        obj["metadata"]["namespace"] = NS
    return out
