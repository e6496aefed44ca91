"""s3 probe: against the lab's S3 (moto playing LocalStack), a bare moto server (buckets and roles missing,
path-style disabled), a fake STS that rejects the keys, and the misbehaving HTTP server classes."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3  # type: ignore[import-untyped]
import httpx
import pytest
from aiohttp import web

from floe_agents.config.platform import PlatformConfig
from floe_agents.config.targets import CredentialsTarget
from floe_agents.context import ProbeContext
from floe_agents.findings import Code, Finding, Status
from floe_agents.probes import s3 as s3_module
from floe_agents.probes._s3_buckets import UPSTREAM_BUCKETS, expected_buckets
from floe_agents.probes.s3 import CODES, DEFAULT_ROLE, s3
from tests.support.lab import LabHandle, findings_of, probe_findings
from tests.support.net import bad_server, closed_port, serve
from tests.support.probes import CtxFactory, run_probe

KEY = "AKIAFLOEAGENTSTEST"


def by_key(findings: list[Finding]) -> dict[tuple[str, str], Finding]:
    """(code, subject@vantage) -> finding; subjects are unique per vantage, as the coordinator needs."""
    assert all(f.code in CODES for f in findings), [f.code for f in findings]
    assert len({f.key for f in findings}) == len(findings), [f.key for f in findings]
    return {(f.code, f"{f.subject}@{f.vantage}"): f for f in findings}


def codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings}


def s3_ctx(
    make_ctx: CtxFactory,
    urls: dict[str, str],
    *,
    platform: dict[str, Any] | None = None,
    vantages: dict[str, Any] | None = None,
    key: str | None = KEY,
) -> ProbeContext:
    ctx = make_ctx("s3", {"api": {"urls": urls}}, check="s3", vantages=vantages)
    creds = CredentialsTarget.model_validate({"s3_access_key_id": key, "s3_secret_access_key": "secret"})
    targets = ctx.targets.model_copy(update={"credentials": creds})
    config = None if platform is None else PlatformConfig.model_validate(platform)
    return dataclasses.replace(ctx, targets=targets, platform=config)


def storage(bucket: str, path_style: bool = True, role_arn: str | None = None) -> dict[str, Any]:
    creds = {"mode": "iam_role", "role_arn": role_arn} if role_arn else {}
    return {
        "endpoint": "http://s3.internal:4566",
        "bucket": bucket,
        "path_style_access": path_style,
        "credentials": creds,
    }


# --- the real lab ---------------------------------------------------------------------------------------------


@pytest.mark.lab
@pytest.mark.parametrize("lab", ["healthy", "s3-endpoint-mismatch"], indirect=True)
async def test_lab(lab: LabHandle) -> None:
    found = by_key(findings_of(await probe_findings(lab, s3, only="s3"), "s3"))
    endpoint = lab.url("floe-infra-localstack", "edge")
    ok = found[("s3.ok", f"{endpoint}@local")]
    assert ok.evidence["localstack"] is True and ok.evidence["services"]["s3"] == "running"
    assert found[("s3.credentials_valid", "credentials@local")].evidence["account"] == "000000000000"
    for layer in ("bronze", "silver", "gold"):
        assert found[("s3.bucket_present", f"iceberg-{layer}@local")].evidence["expected_from"] == "platform config"
    assert found[("s3.assume_role_ok", f"{DEFAULT_ROLE}@local")].evidence["source"] == "upstream default"
    assert found[("s3.addressing_ok", "addressing@local")].evidence["virtual_host"].startswith("not applicable")
    # In the cluster vantage the Service name resolves, <bucket>.floe-infra-localstack never does; the platform
    # config sets path_style_access, so virtual-host addressing is never used: that is fine, not a warning.
    virtual = found[("s3.addressing_ok", "addressing@cluster")]
    assert virtual.evidence["path_style"] == "resolves"
    assert "iceberg-bronze.floe-infra-localstack" in virtual.evidence["unresolvable"]
    assert virtual.evidence["path_style_disabled_for"] == []
    # The endpoint mismatch lives in the catalog's storage config, not in S3: S3 itself is fine in both labs.
    assert [f.code for f in found.values() if f.is_problem] == []


# --- a bare moto server: what Floe's init job would have created is missing ---------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = closed_port()
    env = {**os.environ, "MOTO_ACCOUNT_ID": "000000000000"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.1)
        client = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=KEY, aws_secret_access_key="secret"
        )
        client.create_bucket(Bucket="iceberg-a")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


async def test_upstream_defaults_without_platform(make_ctx: CtxFactory, moto_url: str) -> None:
    found = by_key(await run_probe(s3, s3_ctx(make_ctx, {"local": moto_url})))
    assert found[("s3.ok", f"{moto_url}@local")].evidence["localstack"] is False
    for bucket in UPSTREAM_BUCKETS:
        missing = found[("s3.bucket_missing", f"{bucket}@local")]
        assert missing.status is Status.FAIL and "upstream" in missing.evidence["expected_from"]
    role = found[("s3.role_missing", f"{DEFAULT_ROLE}@local")]
    assert (role.status, role.evidence["code"]) == (Status.WARN, "NoSuchEntity")


async def test_platform_buckets_roles_and_addressing(make_ctx: CtxFactory, moto_url: str) -> None:
    role = "arn:aws:iam::000000000000:role/floe-storage"
    platform = {
        "storage": {"a": storage("iceberg-a", role_arn=role), "b": storage("iceberg-b", path_style=False)},
        "observability": {"compute_logs": {"manager": "s3", "bucket": "dagster-compute-logs"}},
    }
    hosts = {"s3.internal": "127.0.0.1", "iceberg-a.s3.internal": "127.0.0.1"}
    vantages = {
        "local": {"resolver": "system"},
        "cluster": {"resolver": "hosts", "hosts": hosts},
        "pod": {"resolver": "none"},  # not observable from here: no finding rather than a guess
    }
    urls = {"local": moto_url, "cluster": "http://s3.internal:4566", "pod": "http://s3.internal:4566"}
    findings = await run_probe(s3, s3_ctx(make_ctx, urls, platform=platform, vantages=vantages))
    found = by_key(findings)
    assert found[("s3.bucket_present", "iceberg-a@local")].status is Status.OK
    assert found[("s3.bucket_missing", "iceberg-b@local")].status is Status.FAIL
    assert found[("s3.bucket_missing", "dagster-compute-logs@local")].status is Status.FAIL
    assert found[("s3.assume_role_ok", f"{role}@local")].evidence["source"] == "platform storage credentials"
    virtual = found[("s3.virtual_host_unresolvable", "addressing@cluster")]
    assert virtual.status is Status.FAIL  # iceberg-b has path_style_access: false
    assert virtual.evidence["path_style_disabled_for"] == ["iceberg-b"]
    assert virtual.evidence["virtual_host"]["iceberg-a"] == "resolves"
    assert not [f for f in findings if f.vantage == "pod"]


async def test_unresolvable_endpoint_host_at_a_vantage(make_ctx: CtxFactory, moto_url: str) -> None:
    vantages = {"local": {"resolver": "system"}, "cluster": {"resolver": "hosts", "hosts": {}}}
    urls = {"local": moto_url, "cluster": "http://floe-infra-localstack:4566"}
    ctx = s3_ctx(make_ctx, urls, platform={"storage": {"a": storage("iceberg-a")}}, vantages=vantages)
    found = by_key(await run_probe(s3, ctx))
    unreachable = found[("s3.unreachable", "addressing@cluster")]
    assert unreachable.evidence["reason"] == "endpoint host unresolvable"


async def test_no_access_key_skips_signed_checks(
    make_ctx: CtxFactory, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    found = codes(await run_probe(s3, s3_ctx(make_ctx, {"local": moto_url}, key=None)))
    assert found == {"s3.ok", "s3.credentials_missing", "s3.addressing_ok"}


# --- servers that refuse or misbehave ----------------------------------------------------------------------------


@pytest.fixture
async def fake_sts() -> AsyncIterator[str]:
    """Rejects every signed call like AWS does for an unknown key; its LocalStack health reports s3 in error
    under /broken, and is absent (404) otherwise."""
    rejected = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
        "<Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>"
    )

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"services": {"s3": "error", "sts": "running"}})

    async def reject(request: web.Request) -> web.Response:
        return web.Response(status=403, text=rejected, content_type="text/xml")

    app = web.Application()
    app.router.add_get("/broken/_localstack/health", health)
    app.router.add_route("*", "/{rest:.*}", reject)
    async with serve(app) as base:
        yield base


async def test_rejected_keys(make_ctx: CtxFactory, fake_sts: str) -> None:
    found = by_key(await run_probe(s3, s3_ctx(make_ctx, {"local": fake_sts})))
    invalid = found[("s3.credentials_invalid", "credentials@local")]
    assert (invalid.evidence["code"], invalid.evidence["status"]) == ("InvalidClientTokenId", 403)
    assert invalid.evidence["access_key_id"] == KEY and "secret" not in invalid.model_dump_json()
    assert {code for code, _ in found} == {"s3.ok", "s3.credentials_invalid", "s3.addressing_ok"}


async def test_localstack_reports_s3_down(make_ctx: CtxFactory, fake_sts: str) -> None:
    [finding] = await run_probe(s3, s3_ctx(make_ctx, {"local": fake_sts + "/broken"}))
    assert (finding.code, finding.evidence["services"]["s3"]) == ("s3.unhealthy", "error")


@pytest.mark.parametrize(
    ("kind", "first", "then"),
    [
        ("error", "s3.unhealthy", None),
        ("notjson", "s3.unhealthy", None),
        ("truncated", "s3.unhealthy", None),
        ("auth", "s3.ok", "s3.credentials_invalid"),
        ("forbidden", "s3.ok", "s3.credentials_invalid"),
        ("ok-json", "s3.ok", "s3.check_failed"),  # answers {} to an STS call: not S3, and we say we could not tell
    ],
)
async def test_bad_server_classes(make_ctx: CtxFactory, kind: str, first: str, then: str | None) -> None:
    async with bad_server() as base:
        findings = await run_probe(s3, s3_ctx(make_ctx, {"local": f"{base}/{kind}"}))
    found = {f.code: f for f in findings}
    assert first in found, [(f.code, f.summary) for f in findings]
    if then is None:
        assert len(findings) == 1
    else:
        assert found[then].subject == "credentials", found[then].summary


async def test_slow_server_times_out(make_ctx: CtxFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_module, "REQUEST_TIMEOUT_S", 0.3)
    async with bad_server() as base:
        [finding] = await run_probe(s3, s3_ctx(make_ctx, {"local": f"{base}/slow"}))
    assert (finding.code, finding.evidence["reason"]) == ("s3.unreachable", "timeout")


async def test_closed_port_and_tls_mismatch(make_ctx: CtxFactory) -> None:
    [closed] = await run_probe(s3, s3_ctx(make_ctx, {"local": f"http://127.0.0.1:{closed_port()}"}))
    assert (closed.code, closed.evidence["reason"]) == ("s3.unreachable", "refused")
    async with bad_server() as base:
        [tls] = await run_probe(s3, s3_ctx(make_ctx, {"local": base.replace("http://", "https://")}))
    assert (tls.code, tls.evidence["reason"]) == ("s3.unreachable", "tls"), tls.summary


async def test_no_endpoint_for_our_vantage(make_ctx: CtxFactory) -> None:
    [finding] = await run_probe(s3, s3_ctx(make_ctx, {"cluster": "http://floe-infra-localstack:4566"}))
    assert (finding.status, finding.code) == (Status.UNKNOWN, Code.ENDPOINT_NOT_CONFIGURED)


def test_expected_buckets() -> None:
    assert expected_buckets(None)[0] == list(UPSTREAM_BUCKETS)
    config = PlatformConfig.model_validate(
        {
            "storage": {"x": storage("iceberg-x"), "y": storage("iceberg-x", path_style=False)},
            "compute": {"cube": {"preaggregations_bucket": "cube-preaggs"}},
        }
    )
    buckets, path_style, source = expected_buckets(config)
    assert (buckets, path_style, source) == (["iceberg-x", "cube-preaggs"], {"iceberg-x": False}, "platform config")
