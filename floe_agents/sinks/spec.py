"""What ``--sink`` says, as one typed value: ``stdout``, ``file:PATH``, ``configmap:[NAMESPACE/]NAME[?keep=N]``,
``s3://BUCKET[/PREFIX]``.

Why parsed here, with the standard library only: typer calls :func:`parse_sink` while it parses the command line
(a bad spec is a usage error: one line, exit 3, before anything runs), and that must not load the sinks' clients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl

__all__ = ["DEFAULT_KEEP", "SINK_FORMS", "SinkKind", "SinkSpec", "parse_sink"]

SinkKind = Literal["stdout", "file", "configmap", "s3"]
SINK_FORMS = "stdout, file:PATH, configmap:[NAMESPACE/]NAME[?keep=N] or s3://BUCKET[/PREFIX]"
DEFAULT_KEEP = 10  # reports a ConfigMap keeps per command (the 1 MiB limit may keep fewer)
MAX_KEEP = 1000
# RFC 1123 names, as the API server checks them for a namespace and a ConfigMap
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True, slots=True)
class SinkSpec:
    """One sink. ``target`` is the file's path, the ConfigMap's name or the bucket; ``namespace`` (ConfigMap: ``None``
    means the targets' namespace), ``prefix`` (S3 key prefix, no trailing ``/``) and ``keep`` apply to their kinds."""

    kind: SinkKind
    target: str = ""
    namespace: str | None = None
    prefix: str = ""
    keep: int = DEFAULT_KEEP

    @property
    def path(self) -> Path:
        return Path(self.target)

    def describe(self, namespace: str = "") -> str:
        """How the sink is named in messages and findings: ``stdout``, the path, ``configmap ns/name``, the URL."""
        if self.kind == "file":
            return self.target
        if self.kind == "configmap":
            where = self.namespace or namespace
            return f"configmap {where}/{self.target}" if where else f"configmap {self.target}"
        if self.kind == "s3":
            return f"s3://{self.target}/{self.prefix}".rstrip("/")
        return "stdout"


def _configmap(rest: str) -> SinkSpec:
    where, _, query = rest.partition("?")
    namespace, _, name = where.rpartition("/")
    for label, value in (("name", name), ("namespace", namespace)):
        if (value or label == "name") and (len(value) > 253 or not _DNS_NAME.match(value)):
            raise ValueError(f"configmap {label} {value!r} is not a valid Kubernetes name")
    keep = DEFAULT_KEEP
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key != "keep":
            raise ValueError(f"configmap sink: unknown option {key!r} (only keep=N)")
        if not value.isdigit() or not 1 <= int(value) <= MAX_KEEP:
            raise ValueError(f"configmap sink: keep={value!r} is not a number from 1 to {MAX_KEEP}")
        keep = int(value)
    return SinkSpec("configmap", name, namespace=namespace or None, keep=keep)


def _s3(rest: str) -> SinkSpec:
    bucket, _, prefix = rest.partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ValueError(f"s3 sink: {bucket!r} is not a valid bucket name")
    if "?" in prefix or "#" in prefix:
        raise ValueError("s3 sink: the prefix takes no '?' or '#' (s3://BUCKET/PREFIX)")
    return SinkSpec("s3", bucket, prefix=prefix.strip("/"))


def parse_sink(text: str) -> SinkSpec:
    """The sink ``text`` names; ValueError with a one-line reason when it names none."""
    value = text.strip()
    if value == "stdout":
        return SinkSpec("stdout")
    if value.startswith("file:"):
        if not value[5:]:
            raise ValueError("file sink: a path is needed (file:PATH)")
        return SinkSpec("file", value[5:])
    if value.startswith("configmap:"):
        return _configmap(value[10:])
    if value.startswith("s3://"):
        return _s3(value[5:])
    raise ValueError(f"{text!r} is not a sink: use {SINK_FORMS}")
