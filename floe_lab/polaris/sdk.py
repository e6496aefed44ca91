"""The AWS SDK as seen from the catalog pod: addressing, cluster DNS, and the Java SDK's failure texts.

Why: Polaris does its own S3/STS I/O with the AWS Java SDK v2, and the seed report's blocker is one of its
messages (``SdkClientException: Received an UnknownHostException ...``). The stand-in talks to the lab's S3 with
boto3, but decides *where* to connect the way the Java SDK and the pod would: virtual-hosted addressing asks
for ``<bucket>.<host>`` unless ``pathStyleAccess`` is set, a missing endpoint means AWS itself, the host goes
through the service table (never the host's resolver), and every failure is rewritten into the Java SDK's
exception type and message, with the cause chain that names the host.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError  # type: ignore[import-untyped]

from floe_lab.polaris.errors import UNKNOWN_HOST_MESSAGE, SdkError
from floe_lab.polaris.services import REFUSED, TIMED_OUT, ConnectFailedError, ServiceTable, UnknownHostError

__all__ = ["ClientPool", "Credentials", "Endpoint", "PodSdk"]

_T = TypeVar("_T")
_NO_CREDENTIALS = (
    "Unable to load credentials from any of the providers in the chain AwsCredentialsProviderChain("
    "credentialsProviders=[SystemPropertyCredentialsProvider(), EnvironmentVariableCredentialsProvider(), "
    "WebIdentityTokenCredentialsProvider(), ProfileCredentialsProvider(), ContainerCredentialsProvider(), "
    "InstanceProfileCredentialsProvider()])"
)
_SERVICE_LABEL = {"s3": "S3", "sts": "Sts"}


@dataclass(frozen=True)
class Credentials:
    """Static (from the pod's environment) or STS-vended session credentials."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    expiration_ms: int | None = None

    def as_properties(self) -> dict[str, str]:
        """The Iceberg FileIO property names Polaris vends them under."""
        out = {"s3.access-key-id": self.access_key_id, "s3.secret-access-key": self.secret_access_key}
        if self.session_token:
            out["s3.session-token"] = self.session_token
        if self.expiration_ms is not None:
            out["s3.session-token-expires-at-ms"] = str(self.expiration_ms)
            out["expiration-time"] = str(self.expiration_ms)
        return out


@dataclass(frozen=True)
class Endpoint:
    """Where an SDK request goes before DNS: scheme, host the SDK names, port."""

    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, url: str | None, service: str, region: str, bucket: str | None, path_style: bool) -> Endpoint:
        if url:
            parts = urlsplit(url if "://" in url else f"https://{url}")
            scheme, host = parts.scheme or "https", parts.hostname or ""
            port = parts.port or (443 if scheme == "https" else 80)
        else:  # no override: the real AWS endpoint, which nothing in the lab answers
            scheme, host, port = "https", f"{service}.{region}.amazonaws.com", 443
        if bucket is not None and not path_style and _dns_compatible(bucket):
            host = f"{bucket}.{host}"  # virtual-hosted-style addressing
        return cls(scheme, host, port)


class ClientPool:
    """boto3 clients by (service, real URL, region, credentials), least recently used first out.

    Creating a client costs tens of milliseconds; STS-vended credentials differ per request, so the pool is
    bounded and closes what it evicts.
    """

    def __init__(self, capacity: int = 16) -> None:
        self._lock = threading.Lock()
        self._capacity = capacity
        self._clients: collections.OrderedDict[tuple[str, str, str, Credentials], Any] = collections.OrderedDict()

    def get(self, service: str, url: str, region: str, creds: Credentials) -> Any:
        key = (service, url, region, creds)
        evicted: list[Any] = []
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
            session = boto3.session.Session(
                aws_access_key_id=creds.access_key_id,
                aws_secret_access_key=creds.secret_access_key,
                aws_session_token=creds.session_token,
                region_name=region,
            )
            config = Config(
                retries={"max_attempts": 1, "mode": "standard"},
                connect_timeout=3,
                read_timeout=20,
                s3={"addressing_style": "path"},  # the lab already resolved the virtual host name
            )
            client = session.client(service, endpoint_url=url, config=config)
            self._clients[key] = client
            while len(self._clients) > self._capacity:
                evicted.append(self._clients.popitem(last=False)[1])
        for old in evicted:
            old.close()
        return client

    def close(self) -> None:
        """Close every client's connections (the stand-in is stopping)."""
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()


class PodSdk:
    """The AWS SDK inside the catalog pod: the lab's service table for DNS, a pool of boto3 clients."""

    def __init__(self, services: ServiceTable, pool: ClientPool | None = None) -> None:
        self.services = services
        self.pool = pool or ClientPool()

    def call(
        self,
        service: str,
        endpoint: Endpoint,
        *,
        region: str,
        creds: Credentials | None,
        operation: Callable[[Any], _T],
    ) -> _T:
        """Run one SDK operation as the pod would; every failure becomes an :class:`SdkError`."""
        try:
            resolved = self.services.resolve(endpoint.host, endpoint.port)
        except UnknownHostError as exc:
            raise unknown_host(exc.host) from None
        except ConnectFailedError as exc:
            raise connect_failed(exc) from None
        if endpoint.scheme == "https":
            raise SdkError(
                "SdkClientException",
                "Unable to execute HTTP request: Unsupported or unrecognized SSL message",
                causes=["javax.net.ssl.SSLException: Unsupported or unrecognized SSL message"],
            )
        if creds is None:
            raise SdkError("SdkClientException", _NO_CREDENTIALS)
        client = self.pool.get(service, resolved.url, region, creds)
        try:
            return operation(client)
        except ClientError as exc:
            raise service_error(service, exc) from None
        except EndpointConnectionError:
            failed = ConnectFailedError(endpoint.host, endpoint.port, resolved.real_host, REFUSED)
            raise connect_failed(failed) from None
        except ConnectTimeoutError:
            failed = ConnectFailedError(endpoint.host, endpoint.port, resolved.real_host, TIMED_OUT)
            raise connect_failed(failed) from None
        except ReadTimeoutError:
            raise SdkError(
                "SdkClientException",
                "Unable to execute HTTP request: Read timed out (SDK Attempt Count: 4)",
                causes=["java.net.SocketTimeoutException: Read timed out"],
            ) from None
        except BotoCoreError as exc:
            raise SdkError("SdkClientException", f"Unable to execute HTTP request: {exc}") from None
        except ResponseParserError as exc:  # a 200 the SDK cannot read (not XML, not the operation's shape)
            raise SdkError("SdkClientException", f"Unable to unmarshall response ({exc})") from None


def unknown_host(host: str) -> SdkError:
    """What ``HelpfulUnknownHostExceptionInterceptor`` makes of a name that does not resolve."""
    return SdkError(
        "SdkClientException",
        UNKNOWN_HOST_MESSAGE,
        causes=[
            f"software.amazon.awssdk.core.exception.SdkClientException: Unable to execute HTTP request: {host}",
            f"java.net.UnknownHostException: {host}: Name or service not known",
        ],
    )


def connect_failed(exc: ConnectFailedError) -> SdkError:
    target = f"{exc.host}:{exc.port} [{exc.host}/{exc.address}]"
    cause = "java.net.ConnectException" if exc.reason == REFUSED else "java.net.SocketTimeoutException"
    return SdkError(
        "SdkClientException",
        f"Unable to execute HTTP request: Connect to {target} failed: {exc.reason} (SDK Attempt Count: 4)",
        causes=[
            f"org.apache.http.conn.HttpHostConnectException: Connect to {target} failed: {exc.reason}",
            f"{cause}: {exc.reason}",
        ],
    )


def service_error(service: str, exc: ClientError) -> SdkError:
    """An error answer from S3/STS, in ``AwsServiceException``'s message format."""
    response = exc.response
    error = response.get("Error", {})
    meta = response.get("ResponseMetadata", {})
    status = int(meta.get("HTTPStatusCode") or 0)
    message = error.get("Message") or "null"
    label = _SERVICE_LABEL.get(service, service)
    ids = f"Request ID: {meta.get('RequestId') or 'null'}"
    if service == "s3":
        ids += f", Extended Request ID: {meta.get('HostId') or 'null'}"
    text = f"{message} (Service: {label}, Status Code: {status}, {ids}) (SDK Attempt Count: 1)"
    type_ = "S3Exception" if service == "s3" else f"{label}Exception"
    return SdkError(type_, text, cloud_status=status, causes=[f"error code: {error.get('Code') or status}"])


def _dns_compatible(bucket: str) -> bool:
    return bucket == bucket.lower() and "." not in bucket and 3 <= len(bucket) <= 63
