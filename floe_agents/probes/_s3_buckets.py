"""Which S3 buckets Floe expects, and which of them the platform reads path-style: the s3 probe's checklist.

The platform config names its buckets in several places (storage profiles, compute logs, Cube's
pre-aggregations, free-form compute and infrastructure settings); without one, upstream's init job creates five.
Kept apart from the probe because it is a pure reading of the config.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from floe_agents.config.platform import PlatformConfig

__all__ = ["OPTIONAL_BUCKETS", "UPSTREAM_BUCKETS", "expected_buckets"]

UPSTREAM_BUCKETS = ("iceberg-bronze", "iceberg-silver", "iceberg-gold", "dagster-compute-logs", "cube-preaggs")
OPTIONAL_BUCKETS = ("dagster-compute-logs", "cube-preaggs")


def _strings(value: object, key: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(v, str(k))
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v, key)
    elif isinstance(value, str):
        yield key, value


def expected_buckets(platform: PlatformConfig | None) -> tuple[list[str], dict[str, bool], str]:
    """(buckets, bucket -> path_style_access, source): the platform's S3 buckets, else upstream's five."""
    if platform is None:
        return list(UPSTREAM_BUCKETS), {}, "upstream floe-infra-localstack-init (no platform config)"
    buckets: list[str] = []
    path_style: dict[str, bool] = {}
    for profile in platform.storage.values():
        if profile.type == "s3":
            buckets.append(profile.bucket)
            path_style[profile.bucket] = path_style.get(profile.bucket, True) and profile.path_style_access
    free = [platform.observability.compute_logs, platform.compute, platform.infrastructure]
    for key, value in _strings(free):
        if value in OPTIONAL_BUCKETS or (key in ("bucket", "bucket_name") and value):
            buckets.append(value)
    if not buckets:
        return list(UPSTREAM_BUCKETS), {}, "upstream floe-infra-localstack-init (platform names no S3 bucket)"
    return list(dict.fromkeys(buckets)), path_style, "platform config"
