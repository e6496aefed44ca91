"""The targets file ``lab up`` writes, so ``--target lab`` points floe-agents at the running lab.

Two vantages, like a real deployment: ``local`` (this machine off the cluster, where no Service name resolves;
the real loopback ports stand in for the NodePorts) and ``cluster`` (the Service names, resolved through the
lab's Service table, which is exactly what cluster DNS would answer). The Kubernetes API is the lab's
stand-in, reached by URL and bearer token. Every name (namespace, Services, the raw tables) is the lab's own
(:class:`~floe_lab.names.LabNames`), so floe-agents needs nothing else to find a lab deployed under other names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floe_lab.jobs import RAW_NAMESPACE, RAW_TABLES
from floe_lab.names import LabNames

__all__ = ["LOCAL_HOSTS", "endpoints", "lab_targets"]

LOCAL_HOSTS = {"localhost": "127.0.0.1"}

Endpoint = tuple[str, str, str, int, str, str | None]


def endpoints(names: LabNames) -> dict[str, dict[str, Endpoint]]:
    """component -> endpoint name -> (workload, container port name, Service, Service port, scheme, health path)."""
    infra, user = names.infra, names.user_code
    return {
        "postgres": {"sql": (f"{infra}-postgresql", "tcp-postgresql", f"{infra}-postgresql", 5432, "postgresql", None)},
        "s3": {"api": (f"{infra}-localstack", "edge", f"{infra}-localstack", 4566, "http", "/_localstack/health")},
        "polaris": {
            "api": (f"{infra}-polaris", "http", f"{infra}-polaris", 8181, "http", None),
            "management": (f"{infra}-polaris", "management", f"{infra}-polaris", 8182, "http", "/q/health/ready"),
        },
        "jaeger": {
            "query": (f"{infra}-jaeger", "query", f"{infra}-jaeger-query", 16686, "http", "/api/services"),
            "otlp-grpc": (f"{infra}-jaeger", "otlp-grpc", f"{infra}-jaeger-collector", 4317, "grpc", None),
        },
        "marquez": {"api": (f"{infra}-marquez", "http", f"{infra}-marquez", 5000, "http", "/api/v1/namespaces")},
        "dagster-webserver": {"http": (names.webserver, "http", names.webserver, 80, "http", "/server_info")},
        "dagster-user-code": {"grpc": (user, "grpc", user, 3030, "grpc", None)},
        "cube": {"api": (f"{names.cube}-api", "http", f"{names.cube}-api", 4000, "http", "/readyz")},
    }


def lab_targets(
    ports: Mapping[str, Mapping[str, int]],
    services: Mapping[str, Any],
    api_url: str,
    token: str,
    credentials: Mapping[str, str] | None = None,
    *,
    names: LabNames | None = None,
) -> dict[str, Any]:
    names = names or LabNames()
    components: dict[str, Any] = {"dagster-daemon": {}, "iceberg": {}, "kubernetes": {}}
    for component, named in endpoints(names).items():
        out: dict[str, Any] = {}
        for name, (workload, port_name, svc, svc_port, scheme, health) in named.items():
            real = ports[workload][port_name]
            out[name] = {
                "urls": {"local": f"{scheme}://127.0.0.1:{real}", "cluster": f"{scheme}://{svc}:{svc_port}"},
                "health_path": health,
            }
        components[component] = {"endpoints": out}
    hosts = dict.fromkeys(services.get("services", {}), "127.0.0.1")
    return {
        "namespace": names.namespace,
        "vantage": "local",
        "vantages": {
            # This machine, off the cluster: only loopback names resolve (every URL of this vantage is 127.0.0.1).
            # A table, not the system resolver, so no lookup of a Service name ever leaves the machine and
            # the answer does not depend on the network's DNS.
            "local": {"resolver": "hosts", "hosts": dict(LOCAL_HOSTS)},
            "cluster": {
                "resolver": "hosts",
                "hosts": hosts,
                "search": [f"{names.namespace}.svc.cluster.local", "svc.cluster.local", "cluster.local"],
            },
        },
        "kubernetes": {"mode": "url", "url": api_url, "token": token},
        "components": components,
        "credentials": dict(credentials or {}),
        "platform": "platform.yaml",
        "source_tables": {"namespace": RAW_NAMESPACE, "tables": list(RAW_TABLES)},
    }
