"""Polaris's own storage I/O for one catalog: STS subscoping first, then S3 reads and writes of metadata.

Why: the catalog server is a vantage point of its own. When a table is created or committed, Polaris (not the
client) writes the metadata JSON, through ``endpointInternal`` (else ``endpoint``), with credentials it first
obtains from STS ``AssumeRole`` when the catalog has a ``roleArn`` and ``stsUnavailable`` is not true. A failure
in the STS step reaches the client as 422 ``Failed to get subscoped credentials: ...``; a failure in the S3 step
as the SDK exception itself (500 for ``SdkClientException``, the mapped storage status for ``S3Exception``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from floe_lab.polaris import errors
from floe_lab.polaris.errors import SdkError
from floe_lab.polaris.model import S3StorageConfig
from floe_lab.polaris.sdk import Credentials, Endpoint, PodSdk

__all__ = ["StorageAccess", "split_location"]

ROLE_SESSION_NAME = "PolarisAwsCredentialsStorageIntegration"
CREDENTIAL_DURATION_SECONDS = 3600


def split_location(location: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    parts = urlsplit(location)
    if parts.scheme not in ("s3", "s3a", "s3n") or not parts.netloc:
        raise errors.illegal_argument(f"Invalid S3 URI, cannot determine scheme: {location}")
    return parts.netloc, parts.path.lstrip("/")


class StorageAccess:
    """One request's view of a catalog's storage: its config, the pod's DNS, and the credentials in use."""

    def __init__(
        self,
        storage: S3StorageConfig,
        sdk: PodSdk,
        static_credentials: Credentials | None,
        default_region: str,
    ) -> None:
        self.storage = storage
        self._sdk = sdk
        self._static = static_credentials
        self._region = storage.region or default_region
        self.vended: Credentials | None = None

    # --- STS ------------------------------------------------------------------------------------------------
    def subscope(self, read: Sequence[str], write: Sequence[str]) -> Credentials | None:
        """AssumeRole with a policy scoped to the locations, when the catalog uses STS; else ``None``.

        The result is also what this object then uses for its own S3 I/O, as Polaris's FileIO does.
        """
        if not self.storage.uses_sts:
            return None
        endpoint = Endpoint.parse(self.storage.sts_target, "sts", self._region, None, True)
        request: dict[str, Any] = {
            "RoleArn": self.storage.role_arn,
            "RoleSessionName": ROLE_SESSION_NAME,
            "Policy": json.dumps(_policy(read, write)),
            "DurationSeconds": CREDENTIAL_DURATION_SECONDS,
        }
        if self.storage.external_id:
            request["ExternalId"] = self.storage.external_id
        try:
            answer = self._sdk.call(
                "sts",
                endpoint,
                region=self._region,
                creds=self._static,
                operation=lambda client: client.assume_role(**request),
            )
        except SdkError as exc:
            raise errors.unprocessable(
                f"Failed to get subscoped credentials: {exc.message}", exc.java_trace()
            ) from None
        try:  # an STS that answers 200 without usable credentials fails the same way as one that refuses
            creds = answer["Credentials"]
            expiration = creds.get("Expiration")
            self.vended = Credentials(
                str(creds["AccessKeyId"]),
                str(creds["SecretAccessKey"]),
                creds.get("SessionToken"),
                int(expiration.timestamp() * 1000) if expiration is not None else None,
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise errors.unprocessable(
                f"Failed to get subscoped credentials: the STS answer holds no usable credentials ({exc!r})",
                [f"software.amazon.awssdk.core.exception.SdkClientException: {exc!r}"],
            ) from None
        return self.vended

    # --- S3 -------------------------------------------------------------------------------------------------
    def read(self, location: str) -> bytes:
        bucket, key = split_location(location)
        try:
            body = self._s3(bucket, lambda c: c.get_object(Bucket=bucket, Key=key)["Body"].read())
        except SdkError as exc:
            if exc.cloud_status == 404 and "NoSuchKey" in " ".join(exc.causes):
                # Iceberg's S3InputStream turns NoSuchKeyException into this
                raise errors.not_found(f"Location does not exist: {location}") from None
            raise
        return bytes(body)

    def write(self, location: str, data: bytes) -> None:
        bucket, key = split_location(location)
        self._s3(bucket, lambda c: c.put_object(Bucket=bucket, Key=key, Body=data))

    def exists(self, location: str) -> bool:
        bucket, key = split_location(location)
        try:
            self._s3(bucket, lambda c: c.head_object(Bucket=bucket, Key=key))
        except SdkError as exc:
            if exc.cloud_status == 404:
                return False
            raise
        return True

    def size(self, location: str) -> int:
        bucket, key = split_location(location)
        head = self._s3(bucket, lambda c: c.head_object(Bucket=bucket, Key=key))
        return int(head.get("ContentLength", 0))

    def delete(self, location: str) -> None:
        bucket, key = split_location(location)
        self._s3(bucket, lambda c: c.delete_object(Bucket=bucket, Key=key))

    def _s3(self, bucket: str, operation: Any) -> Any:
        endpoint = Endpoint.parse(
            self.storage.internal_endpoint, "s3", self._region, bucket, bool(self.storage.path_style_access)
        )
        creds = self.vended or self._static
        return self._sdk.call("s3", endpoint, region=self._region, creds=creds, operation=operation)


def _policy(read: Sequence[str], write: Sequence[str]) -> dict[str, Any]:
    """``AwsCredentialsStorageIntegration.policyString``: object access under the locations, list by prefix."""
    statements: list[dict[str, Any]] = []
    objects: list[str] = []
    buckets: dict[str, list[str]] = {}
    for location in dict.fromkeys([*read, *write]):
        bucket, path = split_location(location)
        objects.append(f"arn:aws:s3:::{bucket}/{path.rstrip('/')}/*".replace("//*", "/*"))
        buckets.setdefault(bucket, []).append(f"{path.rstrip('/')}/*".lstrip("/"))
    if write:
        resources = [f"arn:aws:s3:::{'/'.join(split_location(w)).rstrip('/')}/*" for w in write]
        statements.append({"Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": resources})
    for bucket, prefixes in buckets.items():
        statements.append(
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": prefixes}},
            }
        )
        statements.append({"Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": f"arn:aws:s3:::{bucket}"})
    statements.append({"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": objects})
    return {"Version": "2012-10-17", "Statement": statements}
