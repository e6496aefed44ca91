"""The fix each failure code of the built-in probes declares, shown when no rule explains such a finding.

Why here and not in a rule: a failure nobody wrote a rule for still deserves the step its probe knows, and the
probe that emits a code knows best what undoes it. Each probe passes its map as ``@probe(..., fixes=...)``.
Placeholders are the rules' (``{component}``, ``{subject}``, ``{namespace}``, ``{evidence.<key>}``): no Floe
name is written here, so a stack under other names gets its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["CUBE", "ICEBERG", "JAEGER", "MARQUEZ", "POLARIS", "POSTGRES", "S3"]

_PODS = "kubectl -n {namespace} get pods -o wide, then describe and logs of the {component} pod"
_AUTH = "the credentials in the targets file or platform.yaml differ from the server's"

CUBE: Mapping[str, str] = MappingProxyType(
    {
        "cube.unreachable": f"Cube does not answer at {{evidence.url}}: {_PODS}; check the Service port.",
        "cube.bad_response": "Cube answers {subject} with an error: read the Cube pod's log for the data model error.",
        "cube.not_ready": "Cube's data source is unreachable: check its CUBEJS_DB_* settings against the catalog.",
        "cube.not_live": f"Cube reports itself not live: {_PODS}.",
        "cube.auth_failed": "Set the targets file's cube_api_secret to the CUBEJS_API_SECRET the Cube pod runs with.",
    }
)

ICEBERG: Mapping[str, str] = MappingProxyType(
    {
        "iceberg.warehouse_missing": "Create the catalog platform.yaml names as its warehouse, with the platform's "
        "storage config (the catalog init Job, or playbook create-catalog).",
        "iceberg.namespace_missing": "Create the namespace of {subject} in the catalog (the catalog init Job, or "
        "playbook create-namespaces); check the name platform.yaml gives its layer.",
        "iceberg.catalog_storage_failed": "The catalog cannot reach its own storage: compare the catalog's "
        "storageConfigInfo (endpoint, pathStyleAccess, roleArn) with platform.yaml storage.",
        "iceberg.handed_out_endpoint_unresolvable": "Set the catalog's storage endpoint to a host the cluster "
        "resolves (the S3 Service name), not {evidence.storage_host}.",
        "iceberg.metadata_unreadable": "The table's metadata file cannot be read from S3: check the bucket, the "
        "object ({subject}) and the keys the catalog vends.",
    }
)

JAEGER: Mapping[str, str] = MappingProxyType(
    {
        "jaeger.unreachable": f"Jaeger does not answer at {{evidence.url}}: {_PODS}.",
        "jaeger.bad_response": "Jaeger's query API answers with errors: read the Jaeger pod's log.",
        "jaeger.auth_failed": "A proxy in front of Jaeger refuses us: give the targets file its credentials.",
        "jaeger.otlp_rejected": "The OTLP port answers but not as OTLP/gRPC: point the emitters at the collector's "
        "OTLP port (4317 gRPC, 4318 HTTP).",
        "jaeger.expected_service_missing": "No trace of {evidence.configured_service} reached Jaeger: set "
        "OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME on the emitting workloads as platform.yaml says.",
    }
)

MARQUEZ: Mapping[str, str] = MappingProxyType(
    {
        "marquez.unreachable": f"Marquez does not answer at {{evidence.url}}: {_PODS}.",
        "marquez.bad_response": "Marquez's API answers with errors: read the Marquez pod's log (its database?).",
        "marquez.auth_failed": "A proxy in front of Marquez refuses us: give the targets file its credentials.",
        "marquez.namespace_missing": "The pipeline emits lineage under another namespace: set OPENLINEAGE_NAMESPACE "
        "on the emitting workloads to {subject}, as platform.yaml says.",
        "marquez.no_jobs": "No lineage arrived for {subject}: set OPENLINEAGE_URL on the emitting workloads and run "
        "the pipeline once.",
        "marquez.lineage_path_wrong": "Set platform.yaml's lineage_endpoint, and OPENLINEAGE_URL on the emitting "
        "workloads, to {evidence.suggested} (the lineage API path is /api/v1/lineage).",
    }
)

POLARIS: Mapping[str, str] = MappingProxyType(
    {
        "polaris.unhealthy": f"The catalog reports itself unhealthy (failing checks in the evidence): {_PODS}.",
        "polaris.unreachable": f"The catalog does not answer at {{subject}}: {_PODS}.",
        "polaris.bad_response": "The catalog's answer is not JSON: is the URL a proxy or another service?",
        "polaris.api_error": "The catalog answered an unexpected status: read the Polaris pod's log.",
        "polaris.auth_failed": f"The catalog refuses the client id/secret: {_AUTH} (the bootstrap credentials).",
        "polaris.scope_invalid": "Set platform.yaml's catalog credentials scope to PRINCIPAL_ROLE:ALL (or a role).",
        "polaris.not_authorized": "Grant the principal's role the privilege: polaris privileges catalog grant, or "
        "assign a principal role that holds it.",
        "polaris.location_not_allowed": "Add the platform's bucket to the catalog's allowedLocations "
        "(PUT /api/management/v1/catalogs/<catalog> with its currentEntityVersion).",
    }
)

POSTGRES: Mapping[str, str] = MappingProxyType(
    {
        "postgres.unreachable": f"PostgreSQL does not answer ({{evidence.reason}}): {_PODS}.",
        "postgres.not_postgres": "Something other than PostgreSQL answers on {subject}: check the Service's port.",
        "postgres.tls_error": "The URL asks for TLS the server does not offer: set sslmode=disable or enable TLS.",
        "postgres.auth_failed": f"PostgreSQL refuses the login ({{evidence.reason}}): {_AUTH}.",
        "postgres.not_ready": "PostgreSQL is starting, stopping or in recovery: wait, then read its pod's log.",
        "postgres.connections_exhausted": "No connection slots left: find the client holding them "
        "(pg_stat_activity) or raise max_connections.",
        "postgres.connect_failed": "Read the login error in the evidence and the PostgreSQL pod's log.",
        "postgres.database_missing": "Create the database {subject} (CREATE DATABASE), as the chart's init does.",
    }
)

S3: Mapping[str, str] = MappingProxyType(
    {
        "s3.unreachable": f"The object store does not answer at {{evidence.url}}: {_PODS}.",
        "s3.unhealthy": "The object store answers with errors: read its pod's log (LocalStack: its S3 service).",
        "s3.credentials_invalid": f"The object store refuses the access keys: {_AUTH}.",
        "s3.bucket_missing": "Create the bucket {evidence.bucket} (aws s3 mb s3://{evidence.bucket}), as the "
        "chart's storage init does.",
        "s3.bucket_unreadable": "The bucket {evidence.bucket} refuses us ({evidence.status}): check its policy and "
        "the keys' permissions.",
    }
)
