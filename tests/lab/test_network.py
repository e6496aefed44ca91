"""The lab's network plan and pod DNS: Service tables from manifests, URL routing, and the pod resolver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from floe_lab.manifests import LabSettings, infra_objects
from floe_lab.manifests_dagster import DAGSTER_SECRET, MISMATCHED_ENDPOINT, dagster_objects, hook_jobs
from floe_lab.network import ServiceTable, allocate_ports, services_table
from tests.support.net import listener

PODNET = Path(__file__).parents[2] / "floe_lab" / "podnet"


def objects(*faults: str) -> list[dict[str, object]]:
    s = LabSettings(pg_password="pw", faults=frozenset(faults))
    return [*infra_objects(s), *dagster_objects(s)]


def test_every_service_port_routes_to_a_real_container_port() -> None:
    objs = objects()
    ports = allocate_ports(objs)
    table = services_table(objs, ports)["services"]
    assert table["floe-infra-polaris"] == {
        "8181": f"127.0.0.1:{ports['floe-infra-polaris']['http']}",
        "8182": f"127.0.0.1:{ports['floe-infra-polaris']['management']}",
    }
    # Two Services in front of one container port share the real port, like ClusterIP and NodePort services.
    assert table["floe-infra-jaeger-query"] == table["floe-infra-jaeger-query-nodeport"]
    services = [o["metadata"]["name"] for o in objs if o["kind"] == "Service"]  # type: ignore[index]
    assert sorted(table) == sorted(services)
    real = [p for named in ports.values() for p in named.values()]
    assert len(real) == len(set(real))


def test_service_table_routes_cluster_urls_only() -> None:
    table = ServiceTable({"services": {"floe-infra-localstack": {"4566": "127.0.0.1:5555"}}, "namespaces": ["floe"]})
    assert table.url("http://floe-infra-localstack:4566/x?y=1") == "http://127.0.0.1:5555/x?y=1"
    assert table.url("http://floe-infra-localstack.floe.svc.cluster.local:4566") == "http://127.0.0.1:5555"
    assert table.url(MISMATCHED_ENDPOINT) == MISMATCHED_ENDPOINT  # no such Service: left to fail
    assert table.url("http://floe-infra-localstack:9999") == "http://floe-infra-localstack:9999"


def test_faults_change_the_objects_not_flags() -> None:
    healthy, broken = objects(), objects("missing-secret", "no-telemetry")
    names = {o["metadata"]["name"] for o in healthy}  # type: ignore[index]
    assert DAGSTER_SECRET in names
    assert DAGSTER_SECRET not in {o["metadata"]["name"] for o in broken}  # type: ignore[index]
    env = json.dumps([o for o in broken if o["metadata"]["name"].endswith("floe-demo")])  # type: ignore[index]
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in env and "OPENLINEAGE_URL" not in env
    jobs = hook_jobs(LabSettings(pg_password="pw", faults=frozenset({"s3-endpoint-mismatch", "unmigrated-schema"})))
    init = next(j for j in jobs if j["metadata"]["name"] == "floe-infra-polaris-init")
    env_values = {e["name"]: e.get("value") for e in init["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env_values["STORAGE_ENDPOINT"] == MISMATCHED_ENDPOINT and env_values["PATH_STYLE_ACCESS"] == "false"
    assert "floe-dagster-dagster-webserver-instance-migrate" not in {j["metadata"]["name"] for j in jobs}


def test_pod_network_resolves_services_and_refuses_bare_host_names(tmp_path: Path) -> None:
    with listener() as real:
        services = tmp_path / "services.json"
        table = {"services": {"floe-infra-polaris": {"8181": f"127.0.0.1:{real}"}}, "namespaces": ["floe"]}
        services.write_text(json.dumps(table))
        script = (
            "import socket\n"
            "s = socket.create_connection(('floe-infra-polaris.floe.svc.cluster.local', 8181), timeout=2)\n"
            "print('connected', s.getpeername()[1]); s.close()\n"
            "try:\n    socket.getaddrinfo('localstack', 4566)\nexcept socket.gaierror as e:\n    print('nxdomain', e)\n"
        )
        env = {"PYTHONPATH": str(PODNET), "FLOE_LAB_SERVICES": str(services), "PATH": "/usr/bin:/bin"}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=20, check=True
        ).stdout
    assert f"connected {real}" in out
    assert "nxdomain" in out
