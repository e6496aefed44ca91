"""The Dagster release (``<release>-dagster``) and the lab cluster's Helm hook Jobs, with the seed's faults applied.

Faults live in the objects, as they did in the seed: ``missing-secret`` leaves out the Secret the Dagster pods
reference (the chart's fallback name ``<release>-dagster-postgresql-secret``); ``unmigrated-schema`` turns table
auto-creation off and drops the instance-migrate hook Job; ``missing-warehouse``/``missing-namespace``/
``missing-raw-tables`` drop or narrow the init Jobs; ``s3-endpoint-mismatch`` makes the catalog-init Job
register a storage endpoint the catalog cannot reach (``s3-port-mismatch``: the right Service, a port it does not
serve); ``sts-credential-vending`` makes it register a roleArn that
Polaris must assume at an STS endpoint the cluster cannot reach; ``no-telemetry`` leaves the user code's OTLP and
OpenLineage settings out. Every name comes from the settings' :class:`~floe_lab.names.LabNames`.
"""

from __future__ import annotations

import yaml

from floe_lab.jobs import RAW_NAMESPACE
from floe_lab.manifests import (
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
from floe_lab.names import LabNames

__all__ = ["CREDS", "DAGSTER_SECRET", "MISMATCHED_ENDPOINT", "dagster_objects", "dagster_secret", "hook_jobs"]

# The catalog vends credentials with AssumeRole at AWS's STS, a host the cluster cannot reach (no egress):
# Polaris' default when a chart sets roleArn without stsUnavailable/stsEndpoint for LocalStack.
STS_VENDING = [
    {"name": "STS_ROLE_ARN", "value": "arn:aws:iam::000000000000:role/polaris-storage-role"},
    {"name": "STS_ENDPOINT", "value": "https://sts.us-east-1.amazonaws.com"},
]
MISMATCHED_ENDPOINT = "http://localstack:4566"  # a name that only exists on the laptop's /etc/hosts, not in cluster


def dagster_secret(names: LabNames) -> str:
    """The Secret the Dagster pods read their PostgreSQL password from (the chart's fallback name)."""
    return f"{names.dagster}-postgresql-secret"


DAGSTER_SECRET = dagster_secret(LabNames())  # the default lab's (tests name it)
CREDS = LabNames().credentials_secret  # the default lab's platform credentials Secret


def _dagster_labels(names: LabNames, component: str) -> dict[str, str]:
    return labels(component, instance=names.dagster, name="dagster")


def instance_yaml(s: LabSettings) -> str:
    """The chart's <release>-dagster-instance ConfigMap: Postgres storage, password from DAGSTER_PG_PASSWORD."""
    doc = {
        "storage": {
            "postgres": {
                "should_autocreate_tables": "unmigrated-schema" not in s.faults,
                "postgres_db": {
                    "username": "postgres",
                    "password": {"env": "DAGSTER_PG_PASSWORD"},
                    "hostname": f"{s.names.infra}-postgresql",
                    "port": 5432,
                    "db_name": "dagster",
                    "scheme": "postgresql+psycopg2",
                },
            }
        }
    }
    return yaml.safe_dump(doc, sort_keys=False)


def _pg_env(names: LabNames) -> list[JsonObj]:
    return [secret_env("DAGSTER_PG_PASSWORD", dagster_secret(names), "postgresql-password")]


def _user_code_env(s: LabSettings) -> list[JsonObj]:
    infra, creds, platform_config = s.names.infra, s.names.credentials_secret, f"{s.names.infra}-platform-config"
    env: list[JsonObj] = [
        {"name": "POLARIS_URI", "value": f"http://{infra}-polaris:8181/api/catalog"},
        {
            "name": "POLARIS_WAREHOUSE",
            "valueFrom": {"configMapKeyRef": {"name": platform_config, "key": "POLARIS_WAREHOUSE"}},
        },
        secret_env("POLARIS_CLIENT_ID", creds, "polaris-client-id"),
        secret_env("POLARIS_CLIENT_SECRET", creds, "polaris-client-secret"),
        {"name": "POLARIS_SCOPE", "value": "PRINCIPAL_ROLE:ALL"},
        secret_env("AWS_ACCESS_KEY_ID", creds, "aws-access-key-id"),
        secret_env("AWS_SECRET_ACCESS_KEY", creds, "aws-secret-access-key"),
        {"name": "AWS_REGION", "value": "us-east-1"},
        {"name": "AWS_ENDPOINT_URL", "value": f"http://{infra}-localstack:4566"},
        {"name": "FLOE_PLATFORM_FILE", "value": "/etc/floe/platform.yaml"},
        # The run workers the code server launches open the instance too (the chart gives them the password).
        secret_env("DAGSTER_PG_PASSWORD", creds, "postgresql-password"),
    ]
    if "no-telemetry" not in s.faults:
        env += [
            {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": f"http://{infra}-jaeger-collector:4317"},
            {
                "name": "OTEL_SERVICE_NAME",
                "valueFrom": {"configMapKeyRef": {"name": platform_config, "key": "OTEL_SERVICE_NAME"}},
            },
            {"name": "OPENLINEAGE_URL", "value": f"http://{infra}-marquez:5000"},
            {"name": "OPENLINEAGE_NAMESPACE", "value": s.names.code_location},
        ]
    return env


def dagster_objects(s: LabSettings) -> list[JsonObj]:
    n = s.names
    ns, instance = n.namespace, f"{n.dagster}-instance"
    out: list[JsonObj] = []
    if "missing-secret" not in s.faults:
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": meta(dagster_secret(n), _dagster_labels(n, "postgresql"), ns),
                "stringData": {"postgresql-password": s.pg_password},
            }
        )
    out.append(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta(instance, _dagster_labels(n, "instance"), ns),
            "data": {"dagster.yaml": instance_yaml(s)},
        }
    )
    home = [{"name": "dagster-instance", "mountPath": "/opt/dagster/dagster_home"}]
    volumes = [{"name": "dagster-instance", "configMap": {"name": instance}}]
    web = _dagster_labels(n, "dagster-webserver")
    web_ctr = container("dagster-webserver", {"http": 80}, env=_pg_env(n), mounts=home)
    out.append(deployment(n.webserver, web, template(web, "dagster-webserver", web_ctr, volumes), ns=ns))
    out.append(service(n.webserver, web, {"http": (80, "http")}, ns=ns))
    out.append(service(f"{n.webserver}-nodeport", web, {"http": (80, "http")}, {"http": 30000}, ns=ns))
    daemon = _dagster_labels(n, "dagster-daemon")
    daemon_ctr = container("dagster-daemon", {}, env=_pg_env(n), mounts=home)
    out.append(
        deployment(f"{n.dagster}-daemon", daemon, template(daemon, "dagster-daemon", daemon_ctr, volumes), ns=ns)
    )
    user = {**_dagster_labels(n, "user-deployments"), "deployment": n.code_location}
    user_ctr = container(n.code_location, {"grpc": 3030}, env=_user_code_env(s), mounts=home)
    out.append(deployment(n.user_code, user, template(user, "dagster-code-server", user_ctr, volumes), ns=ns))
    out.append(service(n.user_code, user, {"grpc": (3030, "grpc")}, ns=ns))
    return out


def _catalog_init_env(s: LabSettings, creds: list[JsonObj]) -> list[JsonObj]:
    """The polaris-init Job's settings: where the catalog is, what to call it, where its storage is."""
    infra = s.names.infra
    endpoint = (
        MISMATCHED_ENDPOINT if "s3-endpoint-mismatch" in s.faults
        else f"http://{infra}-localstack:4567" if "s3-port-mismatch" in s.faults  # the right Service, a wrong port
        else f"http://{infra}-localstack:4566"
    )  # fmt: skip
    layers = ",".join(s.names.layer_buckets)
    namespaces = layers if "missing-namespace" in s.faults else f"{RAW_NAMESPACE},{layers}"
    return [
        *creds,
        {"name": "POLARIS_URI", "value": f"http://{infra}-polaris:8181/api/catalog"},
        {"name": "POLARIS_MANAGEMENT_URI", "value": f"http://{infra}-polaris:8181/api/management/v1"},
        {"name": "CATALOG_NAME", "value": s.names.warehouse},
        {"name": "STORAGE_ENDPOINT", "value": endpoint},
        {"name": "PATH_STYLE_ACCESS", "value": "false" if "s3-endpoint-mismatch" in s.faults else "true"},
        {"name": "NAMESPACES", "value": namespaces},
        {"name": "LAYER_BUCKETS", "value": ",".join(f"{k}={v}" for k, v in s.names.layer_buckets.items())},
        *(STS_VENDING if "sts-credential-vending" in s.faults else []),
    ]


def hook_jobs(s: LabSettings) -> list[JsonObj]:
    """The post-install hook Jobs, in the order Helm runs them (hook weights)."""
    n = s.names
    ns, infra, secret = n.namespace, n.infra, n.credentials_secret
    creds = [
        secret_env("AWS_ACCESS_KEY_ID", secret, "aws-access-key-id"),
        secret_env("AWS_SECRET_ACCESS_KEY", secret, "aws-secret-access-key"),
        secret_env("POLARIS_CLIENT_ID", secret, "polaris-client-id"),
        secret_env("POLARIS_CLIENT_SECRET", secret, "polaris-client-secret"),
    ]
    # LocalStack's own convention (awslocal): the edge as host:port, and the buckets to create.
    s3_init = [*creds[:2], {"name": "LOCALSTACK_HOST", "value": f"{infra}-localstack:4566"},
               {"name": "BUCKETS", "value": ",".join(n.buckets)}]  # fmt: skip
    out = [job(f"{infra}-localstack-init", labels("localstack-init", infra), "job:localstack-init", s3_init, ns=ns)]
    if "missing-warehouse" not in s.faults:
        init = _catalog_init_env(s, creds)
        out.append(job(f"{infra}-polaris-init", labels("polaris-init", infra), "job:polaris-init", init, ns=ns))
        if "missing-raw-tables" not in s.faults:
            seed = [
                *creds,
                {"name": "POLARIS_URI", "value": f"http://{infra}-polaris:8181/api/catalog"},
                {"name": "POLARIS_WAREHOUSE", "value": n.warehouse},
                {"name": "SEED_NAMESPACE", "value": RAW_NAMESPACE},
            ]
            out.append(job(f"{infra}-seed-data", labels("seed-data", infra), "job:seed-data", seed, ns=ns))
    if "unmigrated-schema" not in s.faults:
        migrate = _dagster_labels(n, "migrate")
        out.append(job(f"{n.webserver}-instance-migrate", migrate, "job:dagster-migrate", _pg_env(n), ns=ns))
    for weight, obj in enumerate(out):
        obj["metadata"]["annotations"]["helm.sh/hook-weight"] = str(weight)
    return out
