"""A report with what changes from one lab to the next taken out, so two runs of one scenario compare byte for byte.

What varies between two labs of the same scenario and says nothing about the diagnosis: timings and timestamps,
the loopback ports the lab picked, the lab's state folder, generated pod names and run ids, Kubernetes event
counts, the number of open PostgreSQL connections, ids the servers generate (containers, traces) and ages,
where Python's packages are installed, and the order of
findings that tie on everything but a port (reports sort findings by key, and keys hold the lab's ports: the
normalised lists are sorted again). Everything else (codes, statuses, summaries, evidence, root
causes, fix steps) is kept as the tool wrote it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

_DROP = frozenset(
    {"generated_at", "wall_s", "started_at", "finished_at", "duration_s", "agents", "count", "last_seen", "first_seen"}
)
_VOLATILE_NUMBERS = frozenset({"in_use", "ratio", "restarts", "restart_count", "age_s"})
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_CONNECTIONS = re.compile(r"\b\d+ of (\d+) connections in use")
_SITE_PACKAGES = re.compile(r"/[^\s()'\"]*/site-packages/")
# The version of the S3 server the lab installed (a fresh machine may resolve a newer moto): not a diagnosis.
_MOTO_VERSION = re.compile(r"\bmoto-\d+(?:\.\d+)*\b")


_GENERATED = frozenset({"containerID", "trace_id", "span_id"})  # ids the servers generate anew each run


def canonical(value: Any, key: str = "") -> Any:
    """What is left that varies from run to run rather than with the diagnosis, taken out (generated ids, ages,
    install paths, the order of tied findings); idempotent, so a golden file goes through it unchanged."""
    if key in _GENERATED and isinstance(value, str):
        return "<id>"
    if key.endswith("_age_s") and isinstance(value, int | float):
        return "<n>"
    if isinstance(value, Mapping):
        return {k: canonical(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        items = [canonical(v) for v in value]
        if items and all(isinstance(v, Mapping) and "code" in v and "component" in v for v in items):
            items.sort(key=lambda v: json.dumps(v, sort_keys=True))
        return items
    return _SITE_PACKAGES.sub("<site-packages>/", value) if isinstance(value, str) else value


def canonical_text(raw: str) -> str:
    """``raw`` (a report's JSON) with :func:`canonical` applied, as stable, sorted, indented JSON."""
    return json.dumps(canonical(json.loads(raw)), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


class Lab:
    """What one running lab names differently from another: its ports, state folder and pod names."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        ports: dict[str, dict[str, int]] = json.loads((state_dir / "ports.json").read_text())
        info = json.loads((state_dir / "lab.json").read_text())
        self.ports = {str(p): f"<port:{w}/{n}>" for w, named in ports.items() for n, p in named.items()}
        self.ports[info["api_url"].rsplit(":", 1)[1]] = "<port:kube-apiserver>"
        token = yaml.safe_load((state_dir / "targets.yaml").read_text())["kubernetes"]["token"]
        pods = httpx.get(
            info["api_url"] + "/api/v1/pods", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).json()["items"]
        self.pods = {
            p["metadata"]["name"]: p["metadata"]["generateName"] + "<id>"
            for p in pods
            if p["metadata"].get("generateName")
        }
        self._pod = re.compile("|".join(re.escape(n) for n in sorted(self.pods, key=len, reverse=True)) or "(?!)")
        self._port = re.compile(r"(?<=[:/])(" + "|".join(sorted(self.ports, key=len, reverse=True)) + r")\b")

    def text(self, value: str) -> str:
        value = value.replace(str(self.state_dir), "<state>")
        value = _TIME.sub("<time>", value)
        value = _UUID.sub("<uuid>", value)
        value = _CONNECTIONS.sub(r"<n> of \1 connections in use", value)
        value = _MOTO_VERSION.sub("moto-<version>", value)
        value = self._pod.sub(lambda m: self.pods[m[0]], value)
        return self._port.sub(lambda m: self.ports[m[0]], value)

    def value(self, value: Any, key: str = "") -> Any:
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.value(v, str(k)) for k, v in value.items() if k not in _DROP}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if key in _VOLATILE_NUMBERS and isinstance(value, int | float):
            return "<n>"
        if key in ("port", "node_port") and str(value) in self.ports:
            return self.ports[str(value)]
        return self.text(value) if isinstance(value, str) else value

    def report(self, raw: str) -> str:
        """The ``--json`` report ``raw`` as stable, sorted, indented JSON."""
        return canonical_text(json.dumps(self.value(json.loads(raw))))
