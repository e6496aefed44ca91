"""The lab's S3/IAM/STS endpoint: a real moto server playing Floe's ``floe-infra-localstack``.

Floe stores Iceberg data and Dagster compute logs in S3 and, when a catalog has a ``roleArn``, needs STS to
vend credentials; its charts run LocalStack with an init job that creates the buckets and the
``polaris-storage-role``. LocalStack cannot be installed here, moto can, and moto speaks the same S3/IAM/STS
wire protocols. What moto lacks is LocalStack's ``/_localstack/health`` route, which Floe's validate job and
floe-agents probe, so this module is also the server program (``python -m floe_lab.s3``): moto's own
WSGI app, wrapped by a few lines that answer that route, in one process on one port like LocalStack's edge
port 4566. Moto runs with LocalStack's account id (000000000000) and real AWS managed policies, so the role
and its ``AmazonS3FullAccess`` attachment look as they do upstream. Provisioning then goes through boto3 over
HTTP, as the init job does.

The server also counts the writes it is asked for (:class:`WriteCounter`), per ``User-Agent``, so a test can
prove at the server that ``heal --dry-run`` wrote nothing: ``GET /_lab/v1/requests`` answers
``{"mutating": N, "by_user_agent": {...}}`` (the underscore keeps the path out of the bucket namespace).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from floe_lab import procs
from floe_lab.names import LabNames

__all__ = [
    "BUCKETS",
    "COUNTS_PATH",
    "LOCALSTACK_ACCOUNT",
    "ROLE_NAME",
    "TEST_KEY",
    "S3Server",
    "WriteCounter",
    "localstack_health",
    "main",
    "provision",
    "start_s3",
    "stop_s3",
]

BUCKETS = LabNames().buckets  # the default lab's; the init Job is told its own (``BUCKETS``)
ROLE_NAME = "polaris-storage-role"
LOCALSTACK_ACCOUNT = "000000000000"
TEST_KEY = "test"  # LocalStack's well-known credentials; moto does not check signatures
S3_FULL_ACCESS = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
_HEALTH_PATH = "/_localstack/health"
COUNTS_PATH = "/_lab/v1/requests"
# Query-protocol actions (IAM, STS: always a POST) that change nothing stored: reads, and STS handing out
# temporary credentials (the catalog does that on every credential vend; it is not a change to the platform).
_READ_ACTIONS = re.compile(r"^(Get|List|Describe|Simulate|AssumeRole|DecodeAuthorizationMessage)")
_ACTION = re.compile(rb"(?:^|&)Action=([A-Za-z0-9]+)")
_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{LOCALSTACK_ACCOUNT}:root"},
            "Action": "sts:AssumeRole",
        },
    ],
}


@dataclass(frozen=True)
class S3Server:
    """A running lab S3: the endpoint clients use, LocalStack's test credentials, and its process record."""

    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str
    role_arn: str
    record: procs.ProcRecord

    def client_env(self) -> dict[str, str]:
        """The environment an AWS SDK (or pyiceberg's S3 FileIO) needs to reach this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }


def localstack_health(version: str) -> dict[str, Any]:
    """The body LocalStack answers on ``/_localstack/health``, for the services the lab provides."""
    return {
        "services": {"s3": "running", "sts": "running", "iam": "running"},
        "edition": "community",
        "version": version,
    }


class WriteCounter:
    """Requests that ask the server to change something, per ``User-Agent`` (thread-safe: moto is threaded).

    Counted: every PUT and DELETE; every POST except S3 Select (a read sent as POST) and the IAM/STS
    query-protocol reads (``Action=Get…/List…/Describe…/AssumeRole…``). Counted when received, whatever the
    answer, so a refused write still counts. boto3 and pyarrow send their own user agents (floe-agents cannot
    always set one), so the total is the number to trust for "nothing was written"; the per-agent split tells
    who did write.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_agent: Counter[str] = Counter()

    def observe(self, environ: dict[str, Any]) -> None:
        """Count the request of ``environ`` if it is a write (may buffer a form body: reads it and puts it back)."""
        if _is_write(environ):
            with self._lock:
                self._by_agent[str(environ.get("HTTP_USER_AGENT") or "")] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"mutating": sum(self._by_agent.values()), "by_user_agent": dict(sorted(self._by_agent.items()))}


def _is_write(environ: dict[str, Any]) -> bool:
    method = str(environ.get("REQUEST_METHOD", "")).upper()
    if method in {"PUT", "DELETE"}:
        return True
    if method != "POST":
        return False
    query = str(environ.get("QUERY_STRING", ""))
    if re.search(r"(?:^|&)select(?:&|=|$)", query):
        return False  # S3 SelectObjectContent: a read
    action = _form_action(environ)
    return action is None or not _READ_ACTIONS.match(action)


def _form_action(environ: dict[str, Any]) -> str | None:
    """The ``Action`` of a query-protocol (IAM/STS) POST, from the query or the form body; None for others."""
    found = _ACTION.search(str(environ.get("QUERY_STRING", "")).encode())
    if found is None and str(environ.get("CONTENT_TYPE", "")).startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body after us
        found = _ACTION.search(body)
    return found.group(1).decode() if found else None


def _json(start_response: Callable[..., Any], method: str, doc: Any) -> list[bytes]:
    body = json.dumps(doc).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [] if method == "HEAD" else [body]


def _with_health(
    app: Callable[..., Iterable[bytes]], version: str, counter: WriteCounter | None = None
) -> Callable[..., Iterable[bytes]]:
    """Wrap a WSGI app so GET/HEAD ``/_localstack/health`` answers like LocalStack and ``/_lab/v1/requests``
    with the write counts; every other request is counted (if a write) and goes to moto."""
    health = localstack_health(version)
    counts = counter or WriteCounter()

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "").rstrip("/")
        if path == _HEALTH_PATH and method in {"GET", "HEAD"}:
            return _json(start_response, method, health)
        if path == COUNTS_PATH and method in {"GET", "HEAD"}:
            return _json(start_response, method, counts.snapshot())
        counts.observe(environ)
        return app(environ, start_response)

    return wrapped


def main(argv: Sequence[str] | None = None) -> None:
    """Serve moto (S3, IAM, STS and the rest) plus the LocalStack health route until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    import moto  # noqa: PLC0415 - heavy; only the server process needs it
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server  # noqa: PLC0415

    app = _with_health(DomainDispatcherApplication(create_backend_app), f"moto-{moto.__version__}")
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"READY s3 http://{args.host}:{args.port}", flush=True)  # the supervisor's ready line
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        server.server_close()


def provision(endpoint: str, *, region: str = "us-east-1", buckets: Sequence[str] = BUCKETS) -> str:
    """Do what ``floe-infra-localstack-init`` does: buckets, the Polaris storage role and its S3 policy.

    Blocking (boto3); returns the role ARN. Idempotent, so a reused lab can run it again.
    """
    import boto3  # type: ignore[import-untyped]  # noqa: PLC0415 - heavy

    session = boto3.session.Session(aws_access_key_id=TEST_KEY, aws_secret_access_key=TEST_KEY, region_name=region)
    s3, iam = session.client("s3", endpoint_url=endpoint), session.client("iam", endpoint_url=endpoint)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in buckets:
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
    try:
        role_arn: str = iam.get_role(RoleName=ROLE_NAME)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role_arn = iam.create_role(
            RoleName=ROLE_NAME,
            AssumeRolePolicyDocument=json.dumps(_TRUST_POLICY),
            Description="Role Polaris assumes to vend S3 credentials (floe-infra-localstack-init)",
        )["Role"]["Arn"]
    iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=S3_FULL_ACCESS)
    return role_arn


async def start_s3(
    state_dir: Path, *, port: int | None = None, region: str = "us-east-1", ready_within: float = procs.READY_BUDGET_S
) -> S3Server:
    """Start the moto server on 127.0.0.1 (free port unless given) and provision it like LocalStack's init."""
    port = port or procs.free_port()
    endpoint = f"http://127.0.0.1:{port}"
    spec = procs.ProcSpec(
        name="s3",
        argv=[sys.executable, "-m", "floe_lab.s3", "--port", str(port)],
        env={
            "MOTO_ACCOUNT_ID": LOCALSTACK_ACCOUNT,
            "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
            "PYTHONPATH": _import_root(),
        },
        ports={"api": port},
        ready=[procs.LogReady(r"^READY s3 "), procs.HttpReady(endpoint + _HEALTH_PATH)],
    )
    record = await procs.start(state_dir, spec, ready_within=ready_within)
    try:
        role_arn = await anyio.to_thread.run_sync(lambda: provision(endpoint, region=region))
    except BaseException:
        await procs.stop(state_dir, record)
        raise
    return S3Server(endpoint, region, TEST_KEY, TEST_KEY, role_arn, record)


async def stop_s3(state_dir: Path, server: S3Server, *, grace: float = 3.0) -> procs.StopResult:
    """SIGTERM the moto server (SIGKILL after ``grace``)."""
    return await procs.stop(state_dir, server.record, grace=grace)


def _import_root() -> str:
    """The directory holding the ``floe_lab`` package, so ``-m`` works even without an install."""
    root = str(Path(__file__).resolve().parents[1])
    return os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])


if __name__ == "__main__":
    main()
