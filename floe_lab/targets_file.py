"""The targets file ``lab up`` writes, so ``--target lab`` points floe-agents at the running lab.

Two vantages, like a real deployment: ``local`` (this machine off the cluster, where no Service name resolves;
the real loopback ports stand in for the NodePorts) and ``cluster`` (the Service names, resolved through the
lab's Service table, which is exactly what cluster DNS would answer). The Kubernetes API is the lab's
stand-in, reached by URL and bearer token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["LOCAL_HOSTS", "lab_targets"]

LOCAL_HOSTS = {"localhost": "127.0.0.1"}

# component -> endpoint name -> (workload, container port name, Service, Service port, scheme, health path)
ENDPOINTS: dict[str, dict[str, tuple[str, str, str, int, str, str | None]]] = {
    "postgres": {"sql": ("floe-infra-postgresql", "tcp-postgresql", "floe-infra-postgresql", 5432, "postgresql", None)},
    "s3": {"api": ("floe-infra-localstack", "edge", "floe-infra-localstack", 4566, "http", "/_localstack/health")},
    "polaris": {
        "api": ("floe-infra-polaris", "http", "floe-infra-polaris", 8181, "http", None),
        "management": ("floe-infra-polaris", "management", "floe-infra-polaris", 8182, "http", "/q/health/ready"),
    },
    "jaeger": {
        "query": ("floe-infra-jaeger", "query", "floe-infra-jaeger-query", 16686, "http", "/api/services"),
        "otlp-grpc": ("floe-infra-jaeger", "otlp-grpc", "floe-infra-jaeger-collector", 4317, "grpc", None),
    },
    "marquez": {"api": ("floe-infra-marquez", "http", "floe-infra-marquez", 5000, "http", "/api/v1/namespaces")},
    "dagster-webserver": {
        "http": ("floe-dagster-dagster-webserver", "http", "floe-dagster-dagster-webserver", 80, "http", "/server_info")
    },
    "dagster-user-code": {
        "grpc": (
            "floe-dagster-dagster-user-deployments-floe-demo",
            "grpc",
            "floe-dagster-dagster-user-deployments-floe-demo",
            3030,
            "grpc",
            None,
        )
    },
    "cube": {"api": ("floe-cube-api", "http", "floe-cube-api", 4000, "http", "/readyz")},
}


def lab_targets(
    ports: Mapping[str, Mapping[str, int]],
    services: Mapping[str, Any],
    api_url: str,
    token: str,
    credentials: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    components: dict[str, Any] = {"dagster-daemon": {}, "iceberg": {}, "kubernetes": {}}
    for component, endpoints in ENDPOINTS.items():
        out: dict[str, Any] = {}
        for name, (workload, port_name, svc, svc_port, scheme, health) in endpoints.items():
            real = ports[workload][port_name]
            out[name] = {
                "urls": {"local": f"{scheme}://127.0.0.1:{real}", "cluster": f"{scheme}://{svc}:{svc_port}"},
                "health_path": health,
            }
        components[component] = {"endpoints": out}
    hosts = dict.fromkeys(services.get("services", {}), "127.0.0.1")
    return {
        "namespace": "floe",
        "vantage": "local",
        "vantages": {
            # This machine, off the cluster: only loopback names resolve (every URL of this vantage is 127.0.0.1).
            # A table, not the system resolver, so no lookup of a floe-infra-* name ever leaves the machine and
            # the answer does not depend on the network's DNS.
            "local": {"resolver": "hosts", "hosts": dict(LOCAL_HOSTS)},
            "cluster": {
                "resolver": "hosts",
                "hosts": hosts,
                "search": ["floe.svc.cluster.local", "svc.cluster.local", "cluster.local"],
            },
        },
        "kubernetes": {"mode": "url", "url": api_url, "token": token},
        "components": components,
        "credentials": dict(credentials or {}),
        "platform": "platform.yaml",
    }
