"""The lab's vantages resolve names from the lab's own table (issue 11, finding 15): investigating the lab sends
no DNS query for its names to the system resolver, so no test depends on the network's resolver."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from floe_agents.config import PlatformConfig, load_targets, load_yaml_model
from floe_agents.registry import Registry
from floe_agents.runner import RunOptions
from floe_agents.swarm import Plan, investigate
from tests.support.lab import LabHandle


def test_the_local_vantage_resolves_from_the_labs_table() -> None:
    from floe_lab.targets_file import lab_targets  # noqa: PLC0415

    ports = {w: dict.fromkeys(names, 1) for w, names in _ENDPOINT_PORTS.items()}
    doc = lab_targets(ports, {"services": {"floe-infra-localstack": {}}}, "http://127.0.0.1:1", "t")
    assert doc["vantages"]["local"]["resolver"] == "hosts"
    assert "floe-infra-localstack" not in doc["vantages"]["local"]["hosts"]  # off the cluster it does not resolve


_ENDPOINT_PORTS = {
    "floe-infra-postgresql": ["tcp-postgresql"],
    "floe-infra-localstack": ["edge"],
    "floe-infra-polaris": ["http", "management"],
    "floe-infra-jaeger": ["query", "otlp-grpc"],
    "floe-infra-marquez": ["http"],
    "floe-dagster-dagster-webserver": ["http"],
    "floe-dagster-dagster-user-deployments-floe-demo": ["grpc"],
    "floe-cube-api": ["http"],
}


def _is_ip(host: object) -> bool:
    try:
        ipaddress.ip_address(str(host))
    except ValueError:
        return False
    return True


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy"], indirect=True)  # the session\'s healthy lab, not one more
async def test_investigating_the_lab_asks_no_resolver_about_its_names(
    lab: LabHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    real = socket.getaddrinfo

    def recording(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_ip(host.decode() if isinstance(host, bytes) else host):
            asked.append(host.decode() if isinstance(host, bytes) else str(host))
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    targets = load_targets(lab.targets_file)
    plan = Plan(
        targets=targets,
        registry=Registry.from_entry_points(),
        platform=load_yaml_model(PlatformConfig, lab.state_dir / "platform.yaml"),
        options=RunOptions(deadline_s=60),
    )
    result = await investigate(plan)
    assert result.analysis.findings, "the investigation ran"
    assert any(f.code.startswith("dns.") for f in result.analysis.findings), "names were resolved"
    assert not [h for h in asked if h not in ("localhost",)], f"asked the system resolver for {sorted(set(asked))}"
