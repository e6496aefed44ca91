"""Where the lab's stand-ins keep what they receive, as the real components keep it.

Marquez keeps its lineage in PostgreSQL: a new pod (a restart, a rollout, a scale back up) finds what the old one
received, so its state lives in the lab's state folder, shared by every pod of it. Jaeger all-in-one keeps traces in
memory: a new pod starts empty, so its state stays in the pod's own folder. Before, Marquez lost its lineage with
every new pod, and a lab that had been through a Marquez restart reported "no lineage has reached Marquez" for ever.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import yaml

from floe_lab import launchers
from floe_lab.kubelet.context import LaunchContext


def ctx(tmp_path: Path, pod: str, ports: dict[str, int]) -> LaunchContext:
    return LaunchContext(pod_name=pod, namespace="floe", workload=pod.rsplit("-", 1)[0], kind="Deployment",
                         container={"name": "main"}, env={}, ports=ports, mounts={}, pod_dir=tmp_path / "pods" / pod,
                         state_dir=tmp_path)  # fmt: skip


def state_arg(argv: Sequence[str]) -> str:
    return argv[list(argv).index("--state") + 1]


async def test_marquez_keeps_its_lineage_across_pods_and_jaeger_does_not(tmp_path: Path) -> None:
    ports = {"http": 5000, "admin": 5001}
    first = await launchers.marquez(ctx(tmp_path, "floe-infra-marquez-a", ports))
    second = await launchers.marquez(ctx(tmp_path, "floe-infra-marquez-b", ports))
    assert state_arg(first.argv) == state_arg(second.argv) == str(tmp_path / "marquez-db.json")
    jaeger_ports = {"query": 16686, "otlp-grpc": 4317, "otlp-http": 4318, "admin": 14269}
    jaeger = await launchers.jaeger(ctx(tmp_path, "floe-infra-jaeger-a", jaeger_ports))
    assert state_arg(jaeger.argv).startswith(str(tmp_path / "pods" / "floe-infra-jaeger-a"))


def _workspace_host(tmp_path: Path, services: dict[str, object]) -> tuple[str, int]:
    (tmp_path / "services.json").write_text(json.dumps(services))
    home = launchers._dagster_home(ctx(tmp_path, "floe-dagster-dagster-webserver-a", {"http": 3000}))
    location = yaml.safe_load((home / "workspace.yaml").read_text())["load_from"][0]["grpc_server"]
    return location["host"], location["port"]


def test_the_webserver_reaches_the_code_server_where_it_will_listen_whenever_it_starts(tmp_path: Path) -> None:
    """A webserver started before the code server's pod: the Service has no route yet, so its workspace names the
    port the lab set aside for the code server (before: 127.0.0.1:9, kept for good)."""
    user_code = "floe-dagster-dagster-user-deployments-floe-demo"
    (tmp_path / "ports.json").write_text(json.dumps({user_code: {"grpc": 34743}}))
    assert _workspace_host(tmp_path, {"services": {}}) == ("127.0.0.1", 34743)
    routed: dict[str, object] = {"services": {user_code: {"3030": "127.0.0.1:40001"}}}
    assert _workspace_host(tmp_path, routed) == ("127.0.0.1", 40001)  # once routed: the port behind the Service
