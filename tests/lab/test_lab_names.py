"""The lab under other names: nothing it deploys or writes keeps the upstream charts' names, and names Kubernetes,
Polaris or S3 would refuse are refused before anything starts (one line, exit 3).

Why walk every string: a default name left in one env var, label or URL is exactly the hard-coded name that would
let a diagnosis pass by accident under the defaults and fail on a real stack deployed under its own names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from floe_lab.manifests import LabSettings, infra_objects
from floe_lab.manifests_dagster import dagster_objects, hook_jobs
from floe_lab.names import LabNameError, LabNames
from floe_lab.network import allocate_ports, services_table
from floe_lab.platform_file import platform_yaml
from floe_lab.scenario import FAULTS
from floe_lab.targets_file import lab_targets
from tests.support.lab import cli

OTHER = LabNames(namespace="data-platform", release="acme", warehouse="acme_wh", bucket_prefix="acme-lake")
DEFAULT = LabNames()
# Every name the options control, as the upstream charts spell them: none may survive a rename.
DEFAULT_PARTS = ("floe-infra-", "floe-dagster", "floe-cube", "floe-demo", "floe-k8s-local", "demo_catalog", "iceberg-")
DEFAULT_WHOLE = ("floe", "floe-infra")  # the namespace and the infra release, as whole values


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value
        if "\n" in value:  # an embedded document (platform.yaml, dagster.yaml): its strings too
            yield from _strings(yaml.safe_load(value))


def _defaults_in(doc: object) -> list[str]:
    return sorted(
        {
            s
            for s in _strings(doc)
            if any(part in s for part in DEFAULT_PARTS) or s in DEFAULT_WHOLE or ".floe.svc" in s or s.endswith(".floe")
        }
    )


def _rendered(names: LabNames) -> dict[str, object]:
    settings = LabSettings(pg_password="pw", faults=FAULTS, names=names)  # every fault: every variant of the objects
    healthy = LabSettings(pg_password="pw", names=names)
    objects = [*infra_objects(settings), *dagster_objects(settings), *infra_objects(healthy)]
    objects += [*dagster_objects(healthy), *hook_jobs(healthy), *hook_jobs(settings)]
    ports = allocate_ports(objects)
    table = services_table(objects, ports)
    targets = lab_targets(ports, table, "http://127.0.0.1:1", "t", {"polaris_client_id": "c"}, names=names)
    return {"objects": objects, "services": table, "targets": targets, "platform": platform_yaml(names)}


def test_a_lab_rendered_under_other_names_holds_none_of_the_defaults() -> None:
    assert _defaults_in(_rendered(OTHER)) == []
    rendered = json.dumps(_rendered(OTHER))
    for name in ("data-platform", "acme-infra-polaris", "acme-dagster-dagster-user-deployments-acme-demo", "acme_wh",
                 "acme-lake-bronze", "acme-demo-credentials", "acme-cube-api"):  # fmt: skip
        assert name in rendered, name


def test_the_default_names_are_the_upstream_charts() -> None:
    found = _defaults_in(_rendered(DEFAULT))
    assert {"floe", "floe-infra", "demo_catalog", "iceberg-bronze", "floe-demo-credentials"} <= set(found)


def test_names_are_saved_and_read_back(tmp_path: Path) -> None:
    assert LabNames.load(tmp_path) == DEFAULT  # a lab saved before there were other names
    OTHER.save(tmp_path)
    assert LabNames.load(tmp_path) == OTHER


@pytest.mark.parametrize(
    ("names", "complaint"),
    [
        (LabNames(namespace="Data_Platform"), "--namespace 'Data_Platform' is not a DNS-1123 label"),
        (LabNames(namespace="x" * 64), "is not a DNS-1123 label"),
        (LabNames(release="1acme"), "--release '1acme' is not a DNS-1035 label"),
        (LabNames(release="acme-"), "is not a DNS-1035 label"),
        (LabNames(release="abcdefghijklm"), "a release of at most 12"),
        (LabNames(warehouse="acme wh"), "--warehouse 'acme wh' is not a catalog name"),
        (LabNames(bucket_prefix="Acme"), "--bucket-prefix 'Acme' does not make S3 bucket names"),
    ],
)
def test_names_kubernetes_polaris_or_s3_would_refuse_are_refused(names: LabNames, complaint: str) -> None:
    with pytest.raises(LabNameError, match=complaint.replace("(", r"\(")):
        names.validated()


def test_valid_names_pass() -> None:
    assert OTHER.validated() == OTHER
    assert DEFAULT.validated() == DEFAULT
    assert LabNames(release="abcdefghijkl").validated().release == "abcdefghijkl"  # 12: the longest that fits


def test_lab_up_refuses_a_bad_name_in_one_line_with_exit_3(tmp_path: Path) -> None:
    done = cli("lab", "up", "--release", "Acme", "--state", str(tmp_path / "lab"), timeout=60)
    assert done.returncode == 3
    assert done.stderr.splitlines() == [
        "floe-agents: error: --release 'Acme' is not a DNS-1035 label (lower-case letters, digits and '-', starting "
        "and ending with a letter or digit, at most 63; the first a letter)"
    ]
    assert not (tmp_path / "lab").exists()  # refused before anything started
