"""The catalog pod's cluster DNS: the lab's service table and the SDK addressing that goes through it.

These pin the resolution rules the endpoint faults rest on: only names in the table resolve (in all their
cluster forms), the service port maps to the real loopback port, the pod's own loopback refuses, a
virtual-hosted request asks for ``<bucket>.<host>``, and the table is re-read when the lab rewrites it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from floe_lab.polaris.sdk import Endpoint
from floe_lab.polaris.services import ConnectFailedError, ServiceTable, UnknownHostError


def _table(path: Path, services: dict[str, dict[str, str]], namespace: str = "floe") -> ServiceTable:
    path.write_text(json.dumps({"namespaces": [namespace], "services": services}))
    return ServiceTable(path)


@pytest.mark.parametrize(
    "host",
    [
        "floe-infra-localstack",
        "floe-infra-localstack.floe",
        "floe-infra-localstack.floe.svc",
        "FLOE-INFRA-LOCALSTACK.floe.svc.cluster.local.",
    ],
)
def test_cluster_name_forms_resolve_to_the_real_port(tmp_path: Path, host: str) -> None:
    table = _table(tmp_path / "s.json", {"floe-infra-localstack": {"4566": "127.0.0.1:54321"}})
    resolved = table.resolve(host, 4566)
    assert (resolved.real_host, resolved.real_port) == ("127.0.0.1", 54321)
    assert resolved.url == "http://127.0.0.1:54321"


def test_what_does_not_resolve_or_connect(tmp_path: Path) -> None:
    table = _table(
        tmp_path / "s.json",
        {"floe-infra-localstack": {"4566": "127.0.0.1:54321"}, "outside": {"80": "10.0.0.5:80"}},
    )
    with pytest.raises(UnknownHostError, match="floe-infra-minio: Name or service not known"):
        table.resolve("floe-infra-minio", 9000)
    with pytest.raises(UnknownHostError, match=r"iceberg-bronze\.floe-infra-localstack"):
        table.resolve("iceberg-bronze.floe-infra-localstack", 4566)
    with pytest.raises(UnknownHostError):
        table.resolve("floe-infra-localstack.other-namespace", 4566)
    with pytest.raises(
        ConnectFailedError, match=r"Connect to localhost:4566 \[localhost/127.0.0.1\] failed: Connection refused"
    ):
        table.resolve("localhost", 4566)
    with pytest.raises(ConnectFailedError, match="Connection refused"):
        table.resolve("127.0.0.1", 54321)  # even the real port: loopback is the pod itself
    with pytest.raises(ConnectFailedError, match="Connect timed out"):
        table.resolve("floe-infra-localstack", 9999)  # the service has no such port
    with pytest.raises(ConnectFailedError, match="Connect timed out"):
        table.resolve("10.96.0.10", 4566)  # an address nothing in the lab owns
    assert table.names()["outside"] == {}  # non-loopback targets are never connected to


def test_table_is_reread_when_rewritten_and_broken_files_mean_no_dns(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    table = _table(path, {})
    with pytest.raises(UnknownHostError):
        table.resolve("floe-infra-localstack", 4566)
    _table(path, {"floe-infra-localstack": {"4566": "localhost:1234"}})
    assert table.resolve("floe-infra-localstack", 4566).real_port == 1234
    path.write_text("{not json")
    with pytest.raises(UnknownHostError):
        table.resolve("floe-infra-localstack", 4566)
    path.unlink()
    with pytest.raises(UnknownHostError):
        table.resolve("floe-infra-localstack", 4566)
    assert ServiceTable(None).names() == {}


def test_sdk_addressing() -> None:
    custom = "http://floe-infra-localstack:4566"
    assert Endpoint.parse(custom, "s3", "us-east-1", "iceberg-bronze", True) == Endpoint(
        "http", "floe-infra-localstack", 4566
    )
    assert (
        Endpoint.parse(custom, "s3", "us-east-1", "iceberg-bronze", False).host
        == "iceberg-bronze.floe-infra-localstack"
    )
    assert Endpoint.parse(custom, "s3", "us-east-1", "Not.Dns.Compatible", False).host == "floe-infra-localstack"
    assert Endpoint.parse(None, "s3", "eu-west-1", "bkt", False) == Endpoint(
        "https", "bkt.s3.eu-west-1.amazonaws.com", 443
    )
    assert Endpoint.parse(None, "sts", "us-east-1", None, True) == Endpoint("https", "sts.us-east-1.amazonaws.com", 443)
