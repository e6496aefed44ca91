"""The Polaris stand-in for tests: a real S3/STS (moto) on loopback, the lab's service table, the stand-in itself
in-process on sqlite, and helpers that talk to it the way real clients do.

The ``polaris_s3`` and ``polaris`` fixtures (tests/conftest.py, shared by the lab and probe tests) are thin
wrappers over ``moto_s3`` and ``polaris_on``; the helpers here are imported by the tests that use them. The last
part is the stand-in as the catalog probes see it: its components in a targets model, a ProbeContext over them
(``ctx_for``) and the lab's platform.yaml (``lab_platform``).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import boto3  # type: ignore[import-untyped]
import httpx
import yaml
from botocore.exceptions import ClientError  # type: ignore[import-untyped]
from moto.server import ThreadedMotoServer
from pyiceberg.catalog.rest import RestCatalog

from floe_agents.config import PlatformConfig
from floe_agents.config.targets import Targets
from floe_agents.context import ProbeContext, Services
from floe_agents.resolve import resolvers_for
from floe_lab.names import LabNames
from floe_lab.platform_file import platform_yaml
from floe_lab.polaris import PolarisConfig, RunningPolaris, parse_bootstrap, run_polaris

CLIENT_ID, CLIENT_SECRET = "demo_client", "demo_secret_k8s"
BUCKETS = ("iceberg-bronze", "iceberg-silver", "iceberg-gold")
ROLE_ARN = "arn:aws:iam::000000000000:role/polaris-storage-role"
LOCALSTACK = "floe-infra-localstack"
IN_CLUSTER_S3 = f"http://{LOCALSTACK}:4566"
AWS_KEY = "test"


@dataclass(frozen=True)
class PolarisS3:
    """The lab's S3: its real loopback endpoint and the service-table file naming it ``floe-infra-localstack``."""

    endpoint: str
    port: int
    services_file: Path

    def write_services(self, services: dict[str, dict[str, str]]) -> None:
        """Rewrite the service table, as the lab does when servers move."""
        tmp = self.services_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"namespaces": ["floe"], "services": services}))
        tmp.replace(self.services_file)

    def default_services(self) -> None:
        self.write_services({LOCALSTACK: {"4566": f"127.0.0.1:{self.port}"}})


@contextmanager
def moto_s3(services_dir: Path) -> Iterator[PolarisS3]:
    """moto's S3/STS server with Floe's buckets, its service table in ``services_dir``; stopped (and its thread
    gone) afterwards. Behind the module-scoped ``polaris_s3`` fixture (tests/conftest.py)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=AWS_KEY,
            aws_secret_access_key=AWS_KEY,
        )
        for bucket in BUCKETS:
            try:
                s3.create_bucket(Bucket=bucket)
            except ClientError as exc:  # moto keeps state per process; another module may have made it
                if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
        lab = PolarisS3(endpoint, port, services_dir / "services.json")
        lab.default_services()
        yield lab
    finally:
        server.stop()
    assert server._thread is not None and not server._thread.is_alive()


@asynccontextmanager
async def polaris_on(s3: PolarisS3, directory: Path) -> AsyncIterator[RunningPolaris]:
    """The stand-in on a fresh sqlite file in ``directory``; checks that it leaves no tasks or threads behind.
    Behind the ``polaris`` fixture (tests/conftest.py)."""
    s3.default_services()
    tasks_before = asyncio.all_tasks()
    threads_before = {t.ident for t in threading.enumerate()}
    async with run_polaris(polaris_config(s3, directory)) as running:
        yield running
    await asyncio.sleep(0)
    leaked = [t for t in asyncio.all_tasks() - tasks_before if t is not asyncio.current_task() and not t.done()]
    assert not [t for t in leaked if "TestRunner" not in repr(t.get_coro())], f"tasks left running: {leaked}"
    new_threads = [
        t.name
        for t in threading.enumerate()
        if t.ident not in threads_before
        and t.is_alive()
        # anyio's worker pool, pyiceberg's shared executor, and moto's per-connection request threads
        and not t.name.startswith(("AnyIO worker", "ThreadPoolExecutor"))
        and "process_request_thread" not in t.name
    ]
    assert not new_threads, f"threads left behind: {new_threads}"


def polaris_config(s3: PolarisS3, directory: Path, **overrides: Any) -> PolarisConfig:
    values: dict[str, Any] = {
        "db_url": f"sqlite:///{directory / 'polaris.db'}",
        "services_file": str(s3.services_file),
        "bootstrap": parse_bootstrap(f"POLARIS,{CLIENT_ID},{CLIENT_SECRET}"),
        "aws_access_key_id": AWS_KEY,
        "aws_secret_access_key": AWS_KEY,
    }
    values.update(overrides)
    return PolarisConfig(**values)


async def polaris_token(
    polaris: RunningPolaris, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET, scope: str = "PRINCIPAL_ROLE:ALL"
) -> str:
    async with httpx.AsyncClient(base_url=polaris.url) as client:
        response = await client.post(
            "/api/catalog/v1/oauth/tokens",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": scope},
        )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def storage_config(s3: PolarisS3, **fields: Any) -> dict[str, Any]:
    """Floe's upstream catalog: clients get the lab's real S3 URL, Polaris uses the in-cluster name and STS."""
    config: dict[str, Any] = {
        "storageType": "S3",
        "allowedLocations": [f"s3://{b}/" for b in BUCKETS],
        "roleArn": ROLE_ARN,
        "endpoint": s3.endpoint,
        "endpointInternal": IN_CLUSTER_S3,
        "pathStyleAccess": True,
        "region": "us-east-1",
    }
    config.update(fields)
    return {k: v for k, v in config.items() if v is not None}


async def polaris_create_catalog(
    polaris: RunningPolaris, s3: PolarisS3, name: str = "demo_catalog", **storage: Any
) -> httpx.Response:
    token = await polaris_token(polaris)
    body = {
        "catalog": {
            "type": "INTERNAL",
            "name": name,
            "properties": {"default-base-location": "s3://iceberg-bronze/"},
            "storageConfigInfo": storage_config(s3, **storage),
        }
    }
    async with httpx.AsyncClient(base_url=polaris.url, headers={"Authorization": f"Bearer {token}"}) as client:
        return await client.post("/api/management/v1/catalogs", json=body)


def polaris_rest_catalog(polaris: RunningPolaris, warehouse: str = "demo_catalog", **properties: str) -> RestCatalog:
    """pyiceberg's real RestCatalog, configured like Floe's ``floe_polaris`` client (blocking: call in a thread)."""
    return RestCatalog(
        "polaris",
        uri=polaris.catalog_uri,
        warehouse=warehouse,
        credential=f"{CLIENT_ID}:{CLIENT_SECRET}",
        scope="PRINCIPAL_ROLE:ALL",
        **{"oauth2-server-uri": f"{polaris.catalog_uri}/v1/oauth/tokens", **properties},
    )


# --- the stand-in as the catalog probes (polaris, iceberg, catalog_sts) see it ---------------------------------
# Floe's own catalog storage settings (no STS, the in-cluster S3), over ``storage_config``'s upstream ones.
FLOE_STORAGE: dict[str, Any] = {
    "endpoint": IN_CLUSTER_S3,
    "endpointInternal": None,
    "roleArn": None,
    "stsUnavailable": True,
}


def lab_platform(**layers_ns: str) -> PlatformConfig:
    """The lab's platform.yaml, a layer's namespace renamed where given (``bronze="demo_catalog.bronze"``)."""
    doc = yaml.safe_load(platform_yaml(LabNames()))
    for layer, ns in layers_ns.items():
        doc["layers"][layer]["namespace"] = ns
    return PlatformConfig.model_validate(doc)


def ctx_for(
    http: httpx.AsyncClient,
    component: str,
    components: dict[str, Any],
    *,
    plat: PlatformConfig | None = None,
    credentials: dict[str, str] | None = None,
    cluster_hosts: dict[str, str] | None = None,
    local_hosts: dict[str, str] | None = None,
) -> ProbeContext:
    """A real ProbeContext: a local vantage (the system resolver, or a hosts table: the stand-in's fixture forbids
    the event loop's resolver thread) and a cluster vantage with a static hosts table."""
    local = {"resolver": "system"} if local_hosts is None else {"resolver": "hosts", "hosts": local_hosts}
    targets = Targets.model_validate(
        {
            "vantage": "local",
            "vantages": {
                "local": local,
                "cluster": {"resolver": "hosts", "hosts": cluster_hosts or {}},
            },
            "components": {component: {}, **components},
            "credentials": credentials
            if credentials is not None
            else {"polaris_client_id": CLIENT_ID, "polaris_client_secret": CLIENT_SECRET},
        }
    )
    services = Services(http=http, resolvers=resolvers_for(targets.vantages, targets.vantage))
    return ProbeContext(component=component, check="t", targets=targets, services=services, platform=plat)


def standin_components(running: RunningPolaris, s3: PolarisS3) -> dict[str, Any]:
    """The targets' components for the stand-in and its S3: loopback URLs locally, the lab's names in the cluster."""
    return {
        "polaris": {
            "endpoints": {
                "api": {"urls": {"local": running.url, "cluster": "http://floe-infra-polaris:8181"}},
                "management": {"urls": {"local": running.mgmt_url, "cluster": "http://floe-infra-polaris:8182"}},
            }
        },
        "s3": {"endpoints": {"api": {"urls": {"local": s3.endpoint, "cluster": IN_CLUSTER_S3}}}},
    }


# --- the official Polaris client (PyPI apache-polaris): its CLI as a subprocess and its management API ---------
# Lazily imported: the generated client is large, and only the tests that drive the stand-in with it need it.
CLI_PROMPT_END = "> "


@dataclass(frozen=True)
class CliRun:
    """One ``polaris`` process: its exit code and what it wrote."""

    returncode: int
    stdout: str
    stderr: str


def _cli_env(home: Path) -> dict[str, str]:
    """The CLI's environment: its own config home, no proxy settings or client credentials of the caller."""
    drop = ("proxy", "polaris_")
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith(drop) and "proxy" not in k.lower()}
    return {**env, "POLARIS_HOME": str(home), "PYTHONUNBUFFERED": "1", "LC_ALL": "C.UTF-8", "TERM": "dumb"}


def _cli_argv(polaris: RunningPolaris) -> list[str]:
    cli = Path(sys.executable).with_name("polaris")
    return [str(cli), "--base-url", polaris.url, "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]


async def polaris_cli(polaris: RunningPolaris, home: Path, *args: str) -> CliRun:
    """``polaris --base-url URL --client-id .. --client-secret .. ARGS`` as a subprocess (the event loop keeps
    serving the in-process stand-in meanwhile)."""
    done = await anyio.run_process([*_cli_argv(polaris), *args], check=False, env=_cli_env(home))
    return CliRun(done.returncode, done.stdout.decode(), done.stderr.decode())


async def polaris_repl(polaris: RunningPolaris, home: Path, commands: list[str]) -> list[str]:
    """Several CLI commands in one ``polaris repl`` process (one start-up instead of one per command); returns
    what each command printed (stdout and stderr, in order)."""
    script = "".join(f"{line}\n" for line in [*commands, "exit"])
    argv = [*_cli_argv(polaris), "repl"]
    done = await anyio.run_process(
        argv, input=script.encode(), check=False, env=_cli_env(home), stderr=subprocess.STDOUT
    )
    prompt = f"polaris@{polaris.url.removeprefix('http://')}{CLI_PROMPT_END}"
    parts = done.stdout.decode().split(prompt)
    assert done.returncode == 0 and len(parts) == len(commands) + 2, done.stdout.decode()
    return [part.strip() for part in parts[1:-1]]


def polaris_admin(polaris: RunningPolaris, token: str) -> Any:
    """The official client's generated management API (``PolarisDefaultApi``), blocking: call it in a thread."""
    sdk: Any = importlib.import_module("apache_polaris.sdk.management")
    configuration = sdk.Configuration(host=f"{polaris.url}/api/management/v1", access_token=token)
    # no keep-alive: an idle pooled connection would keep a server task alive past the test (the leak check)
    return sdk.PolarisDefaultApi(sdk.ApiClient(configuration, header_name="Connection", header_value="close"))
