"""AWS-API plumbing the storage probes share: boto3 clients with tight timeouts, and one call as facts.

S3 and the catalog's STS follow-up both speak to an S3-compatible store (LocalStack, MinIO) or AWS through
boto3. boto3 is blocking and raises a zoo of exceptions, so each call runs in a worker thread (abandoned on
cancel) under botocore's own connect/read timeouts with a single attempt, and comes back as either a result or
plain facts (kind: auth / client / garbage / transport / timeout, code, HTTP status, message): the probes decide
what those facts mean, never a traceback.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import httpx

REQUEST_TIMEOUT_S = 3.0
Clients = dict[str, Any]  # "s3", "sts", "iam": boto3 clients (boto3 is untyped); "seen": the last HTTP status
Facts = dict[str, str | int | None]  # why a call failed: kind, code, status, message
CALL_TIMEOUT_S = 4.0  # one boto3 call: botocore's connect (2 s) / read (3 s) timeouts, plus slack
_AUTH_ERRORS = frozenset(("InvalidClientTokenId", "SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken"))
_AUTH_ERRORS |= {"UnrecognizedClientException", "AuthFailure", "InvalidToken", "IncompleteSignature", "AccessDenied"}


@functools.cache
def _model_loader() -> object:
    """botocore's loader of its bundled JSON service models, shared by every session in this process.

    Loading and parsing those files is most of a client's cost (~0.1 s of CPU per session, held under the GIL
    while every other probe waits); they never change while the process lives, so, like an import, they are read
    once. Each session (and its credentials) is still made per call.
    """
    from botocore.loaders import create_loader  # type: ignore[import-untyped]  # noqa: PLC0415

    return create_loader()


def make_clients(endpoint: str, region: str, key: str | None, secret: str | None) -> Clients:
    import boto3  # type: ignore[import-untyped]  # noqa: PLC0415 - heavy; only when probing
    import botocore.session  # type: ignore[import-untyped]  # noqa: PLC0415
    from botocore.config import Config  # type: ignore[import-untyped]  # noqa: PLC0415

    cfg = Config(
        connect_timeout=2,
        read_timeout=REQUEST_TIMEOUT_S,
        retries={"total_max_attempts": 1},
        s3={"addressing_style": "path"},
    )
    core = botocore.session.get_session()
    core.register_component("data_loader", _model_loader())
    session = boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret or "", region_name=region, botocore_session=core
    )
    aws = httpx.URL(endpoint).host.endswith("amazonaws.com")
    other = None if aws else endpoint  # LocalStack/MinIO serve STS and IAM on the S3 endpoint
    clients: Clients = {
        "s3": session.client("s3", endpoint_url=endpoint, config=cfg),
        "sts": session.client("sts", endpoint_url=other, config=cfg),
        "iam": session.client("iam", endpoint_url=other, config=cfg),
    }
    seen = clients["seen"] = threading.local()  # the HTTP status of this thread's last answer

    def remember(response_dict: Mapping[str, object], **_: object) -> None:
        seen.status = response_dict.get("status_code")

    for name in ("s3", "sts", "iam"):
        clients[name].meta.events.register("before-parse", remember)
    return clients


def _attempt(fn: Callable[[], object], seen: threading.local) -> tuple[object, Facts | None]:
    """Run one boto3 call in this worker thread; errors become facts (kind, code, status, message)."""
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]  # noqa: PLC0415
    from botocore.parsers import ResponseParserError  # type: ignore[import-untyped]  # noqa: PLC0415

    seen.status = None
    try:
        return fn(), None
    except ClientError as exc:
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(err.get("Code") or status)
        kind = "auth" if code in _AUTH_ERRORS or status in (401, 403) else "client"
        return None, {"kind": kind, "code": code, "status": status, "message": str(err.get("Message") or exc)[:300]}
    except ResponseParserError as exc:  # not an S3/STS answer at all; the status still tells auth from garbage
        status = seen.status
        kind = "auth" if status in (401, 403) else "garbage"
        return None, {"kind": kind, "code": f"HTTP {status}", "status": status, "message": str(exc)[:300]}
    except BotoCoreError as exc:
        return None, {"kind": "transport", "code": type(exc).__name__, "message": str(exc)[:300]}


async def aws_call(clients: Clients, fn: Callable[[], object]) -> tuple[object, Facts | None]:
    """(result, None) or (None, error facts) for one blocking boto3 call, abandoned after CALL_TIMEOUT_S."""
    try:
        with anyio.fail_after(CALL_TIMEOUT_S):
            return await anyio.to_thread.run_sync(_attempt, fn, clients["seen"], abandon_on_cancel=True)
    except TimeoutError:
        return None, {"kind": "timeout", "message": f"no answer within {CALL_TIMEOUT_S:g}s"}


def signed_get_headers(url: httpx.URL, region: str, key_id: str, secret: str, token: str | None) -> dict[str, str]:
    """SigV4 headers for a plain S3 GET of ``url`` (path-style), from botocore's own signer: what boto3 sends."""
    from botocore.auth import S3SigV4Auth  # type: ignore[import-untyped]  # noqa: PLC0415
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]  # noqa: PLC0415
    from botocore.credentials import Credentials  # type: ignore[import-untyped]  # noqa: PLC0415

    request = AWSRequest(method="GET", url=str(url))
    S3SigV4Auth(Credentials(key_id, secret, token), "s3", region).add_auth(request)
    return dict(request.headers.items())
