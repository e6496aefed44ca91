"""The platform.yaml of the lab: what the Floe chart injects into its pods, and what ``lab up`` hands floe-agents.

Kept apart from the manifests because it is the one document both sides read: the chart's platform ConfigMap
carries it into the cluster, and ``lab up`` writes the same text beside the targets file so ``investigate``
judges the platform by the configuration it was deployed with. Every name in it (Services, warehouse, buckets,
the traces' service name) comes from the lab's :class:`~floe_lab.names.LabNames`.
"""

from __future__ import annotations

import yaml

from floe_lab.names import LAYERS, LabNames

__all__ = ["platform_yaml"]


def platform_yaml(names: LabNames) -> str:
    """The platform.yaml the chart injects (in-cluster URLs), as in upstream's local platform file."""
    storage = {
        layer: {
            "type": "s3",
            "endpoint": f"http://{names.infra}-localstack:4566",
            "region": "us-east-1",
            "bucket": bucket,
            "path_style_access": True,
            "credentials": {"mode": "static", "secret_ref": "aws-credentials"},
        }
        for layer, bucket in names.layer_buckets.items()
    }
    doc = {
        "version": "1.2.0",
        "layers": {layer: {"storage_ref": layer, "catalog_ref": "default", "namespace": layer} for layer in LAYERS},
        "storage": {**storage, "default": storage[LAYERS[0]]},
        "catalogs": {
            "default": {
                "type": "polaris",
                "uri": f"http://{names.infra}-polaris:8181/api/catalog",
                "warehouse": names.warehouse,
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
            "otlp_endpoint": f"http://{names.infra}-jaeger-collector:4317",
            "lineage_endpoint": f"http://{names.infra}-marquez:5000/api/v1/lineage",
            "attributes": {"service.name": names.service_name, "deployment.environment": "k8s-local"},
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)
