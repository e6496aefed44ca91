"""The FileIO ``iceberg.seed_tables`` hands pyiceberg (``py-io-impl``), in its own module because importing
pyiceberg's fsspec FileIO takes seconds: only pyiceberg loads it, when a seed step is applied.

Why it exists: the catalog hands out the S3 endpoint it knows (an in-cluster Service name) and pyiceberg lets it
win over its own ``s3.endpoint``; from outside the cluster that name does not resolve. The property
``floe-agents.s3.endpoint-map`` (JSON: handed-out endpoint → this vantage's URL for it, from the targets file)
maps it; in the cluster vantage the map is empty and nothing changes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pyiceberg.io.fsspec import FsspecFileIO

if TYPE_CHECKING:
    from pyiceberg.typedef import Properties

__all__ = ["ENDPOINT_MAP", "VantageFileIO"]

ENDPOINT_MAP = "floe-agents.s3.endpoint-map"


class VantageFileIO(FsspecFileIO):
    """pyiceberg's fsspec FileIO, reaching the handed-out S3 endpoint through this run's vantage."""

    def __init__(self, properties: Properties) -> None:
        props = dict(properties)
        mapping: dict[str, str] = json.loads(props.get(ENDPOINT_MAP) or "{}")
        endpoint = props.get("s3.endpoint")
        if endpoint and endpoint.rstrip("/") in mapping:
            props["s3.endpoint"] = mapping[endpoint.rstrip("/")]
        super().__init__(props)
