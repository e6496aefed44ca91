"""What the lab's servers were asked to change, per client: the evidence that a dry run wrote nothing.

Why at the servers: ``heal --dry-run`` promises zero mutating requests, and only the receiving end can prove a
promise about what was sent. Each server counts on its own terms, in its real protocol:

- the Kubernetes API stand-in: POST/PUT/PATCH/DELETE per ``User-Agent``, ``dryRun=All`` requests apart
  (``GET /lab/v1/requests``, bearer token; :mod:`floe_lab.kube.counting`);
- the S3 server (moto): writes per ``User-Agent`` (``GET /_lab/v1/requests``; :mod:`floe_lab.s3`). boto3 and
  pyarrow may not carry floe-agents' agent, so trust ``total`` for "nothing written";
- PostgreSQL: DDL statements per ``application_name``, read from its own log (``log_statement = 'ddl'``;
  :func:`floe_lab.postgres.ddl_counts`);
- the Polaris stand-in: ``GET /lab/v1/requests`` when it serves it, else reported as not available.

Counters start at zero when a server starts, so compare two readings: ``after.minus(before)``.

Use::

    before = await mutation_counts(state_dir)
    ...                                       # floe-agents heal --dry-run
    delta = (await mutation_counts(state_dir)).minus(before)
    assert delta.total_of("floe-agents") == {"kubernetes": 0, "s3": 0, "postgres": 0, "polaris": 0}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import yaml

from floe_lab.names import LabNames
from floe_lab.postgres import ddl_counts

__all__ = ["FLOE_AGENTS", "MutationCounts", "ServerCounts", "mutation_counts"]

FLOE_AGENTS = "floe-agents"  # the client name floe-agents uses: User-Agent floe-agents/<version>, application_name
_TIMEOUT = 10.0


def _is_client(key: str, client: str) -> bool:
    """``floe-agents`` matches ``floe-agents``, ``floe-agents/0.1.0`` and ``floe-agents/0.1.0 (extra)``."""
    return key == client or key.startswith((f"{client}/", f"{client} "))


@dataclass(frozen=True)
class ServerCounts:
    """One server's counts: ``total`` mutating requests, ``by_client`` (User-Agent or application name).

    ``dry_run``/``dry_run_by_client``: requests that asked to validate a change without storing it (Kubernetes
    ``dryRun=All``; 0 elsewhere). ``available`` False: the server could not be read (``why`` says so).
    """

    server: str
    available: bool
    total: int = 0
    by_client: Mapping[str, int] = field(default_factory=dict)
    dry_run: int = 0
    dry_run_by_client: Mapping[str, int] = field(default_factory=dict)
    why: str = ""

    def of(self, client: str = FLOE_AGENTS) -> int:
        """Mutating requests of one client (every version and agent suffix of it)."""
        return sum(n for key, n in self.by_client.items() if _is_client(key, client))

    def dry_run_of(self, client: str = FLOE_AGENTS) -> int:
        return sum(n for key, n in self.dry_run_by_client.items() if _is_client(key, client))

    def minus(self, before: ServerCounts) -> ServerCounts:
        """What happened since ``before`` (a reading of the same server); unavailable if either is."""
        if not (self.available and before.available):
            return ServerCounts(self.server, False, why=self.why or before.why)

        def sub(now: Mapping[str, int], then: Mapping[str, int]) -> dict[str, int]:
            out = {k: n - then.get(k, 0) for k, n in now.items()}
            return {k: n for k, n in out.items() if n}

        return ServerCounts(
            self.server,
            True,
            self.total - before.total,
            sub(self.by_client, before.by_client),
            self.dry_run - before.dry_run,
            sub(self.dry_run_by_client, before.dry_run_by_client),
        )


@dataclass(frozen=True)
class MutationCounts:
    """The four servers' counts at one moment."""

    kubernetes: ServerCounts
    s3: ServerCounts
    postgres: ServerCounts
    polaris: ServerCounts

    @property
    def servers(self) -> tuple[ServerCounts, ...]:
        return (self.kubernetes, self.s3, self.postgres, self.polaris)

    def minus(self, before: MutationCounts) -> MutationCounts:
        k, s, p, c = (now.minus(then) for now, then in zip(self.servers, before.servers, strict=True))
        return MutationCounts(k, s, p, c)

    def total_of(self, client: str = FLOE_AGENTS) -> dict[str, int | None]:
        """Per server, the client's mutating requests (None where the server could not be read)."""
        return {s.server: s.of(client) if s.available else None for s in self.servers}

    def totals(self) -> dict[str, int | None]:
        """Per server, every client's mutating requests together (None where the server could not be read)."""
        return {s.server: s.total if s.available else None for s in self.servers}


def _from_body(server: str, body: Any) -> ServerCounts:
    if not isinstance(body, dict) or not isinstance(body.get("mutating"), int):
        return ServerCounts(server, False, why=f"unexpected answer: {str(body)[:200]}")
    return ServerCounts(
        server,
        True,
        int(body["mutating"]),
        {str(k): int(v) for k, v in (body.get("by_user_agent") or {}).items()},
        int(body.get("dry_run") or 0),
        {str(k): int(v) for k, v in (body.get("dry_run_by_user_agent") or {}).items()},
    )


async def _read_http(http: httpx.AsyncClient, server: str, urls: list[str], headers: dict[str, str]) -> ServerCounts:
    why = "no endpoint known"
    for url in urls:
        try:
            response = await http.get(url, headers=headers)
        except httpx.HTTPError as exc:
            why = f"{url}: {type(exc).__name__}: {exc}"
            continue
        if response.status_code == 200:
            try:
                return _from_body(server, response.json())
            except ValueError:
                why = f"{url}: not JSON"
                continue
        why = f"{url}: HTTP {response.status_code}"
    return ServerCounts(server, False, why=why)


def _postgres(state_dir: Path) -> ServerCounts:
    log = state_dir / "logs" / "postgres.log"
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return ServerCounts("postgres", False, why=f"{log}: {exc.strerror}")
    counts = ddl_counts(text)
    return ServerCounts("postgres", True, sum(counts.values()), dict(sorted(counts.items())))


@dataclass(frozen=True)
class _Lab:
    api_url: str
    token: str
    ports: dict[str, dict[str, int]]
    names: LabNames


def _lab(state_dir: Path) -> _Lab:
    info = json.loads((state_dir / "lab.json").read_text())
    targets = yaml.safe_load((state_dir / "targets.yaml").read_text())
    ports = json.loads((state_dir / "ports.json").read_text())
    return _Lab(str(info["api_url"]), str(targets["kubernetes"]["token"]), ports, LabNames.load(state_dir))


def _port_urls(ports: Mapping[str, Mapping[str, int]], workload: str, names: list[str], path: str) -> list[str]:
    named = ports.get(workload) or {}
    return [f"http://127.0.0.1:{named[n]}{path}" for n in names if n in named]


async def mutation_counts(state_dir: str | Path) -> MutationCounts:
    """Read the counters of the lab running in ``state_dir`` (the folder of ``floe-agents lab up --state``)."""
    folder = Path(state_dir)
    lab = await anyio.to_thread.run_sync(_lab, folder)
    auth = {"Authorization": f"Bearer {lab.token}"}
    async with httpx.AsyncClient(timeout=_TIMEOUT, trust_env=False) as http:
        kube = await _read_http(http, "kubernetes", [lab.api_url + "/lab/v1/requests"], auth)
        s3 = await _read_http(
            http, "s3", _port_urls(lab.ports, f"{lab.names.infra}-localstack", ["edge"], "/_lab/v1/requests"), {}
        )
        polaris = await _read_http(
            http,
            "polaris",
            _port_urls(lab.ports, f"{lab.names.infra}-polaris", ["http", "management"], "/lab/v1/requests"),
            {},
        )
    postgres = await anyio.to_thread.run_sync(_postgres, folder)
    return MutationCounts(kube, s3, postgres, polaris)
