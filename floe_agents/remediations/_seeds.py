"""Seed specs: the tables ``iceberg.seed_tables`` writes when they are missing, declared as data.

Why declared and generated, not shipped as files: a seed is the platform's *starting* data (upstream's seed-data
Job, the lab's ``floe-infra-seed-data``), so what matters is each table's name, columns with their Arrow types and
row count; a generator seed makes the rows the same on every heal, so a test or a person can tell a seeded table
from real data. A spec is a YAML file under ``playbooks/seeds/`` (or any path), closed to unknown keys::

    namespace: demo
    seed: 42
    tables:
      raw_customers:
        rows: 3
        columns:
          - {name: customer_id, type: int64, gen: sequence, start: 1}
          - {name: name, type: string, gen: choice, values: [Ada, Grace, Linus]}

Generators: ``sequence`` (start, step), ``cycle`` (values, in order), ``choice`` (values, at random), ``int`` /
``float`` (min, max), ``timestamp`` (start, step_seconds).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from floe_agents._frozen import Frozen
from floe_agents.config.loading import ConfigError, load_yaml_model
from floe_agents.heal_context import RemediationError
from floe_agents.playbooks import builtin_playbook_dir

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Column", "SeedSpec", "SeedTable", "load_seed", "seeds_dir"]


class Column(Frozen):
    name: str = Field(min_length=1)
    type: str = Field(description="An Arrow type alias: int64, float64, string, bool, timestamp[us], date32 …")
    gen: Literal["sequence", "cycle", "int", "float", "choice", "timestamp"] = "sequence"
    start: float | str = 1
    step: float = 1
    min: float = 0
    max: float = 100
    values: tuple[str | int | float | bool, ...] = ()
    step_seconds: float = 3600

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        import pyarrow as pa  # noqa: PLC0415 - heavy; only when a spec is read

        try:
            pa.type_for_alias(value)
        except ValueError:
            raise ValueError(f"unknown Arrow type {value!r}") from None
        return value

    def values_for(self, rows: int, rng: random.Random) -> list[object]:
        if self.gen == "sequence":
            return [float(self.start) + i * self.step for i in range(rows)]
        if self.gen == "int":
            return [rng.randint(int(self.min), int(self.max)) for _ in range(rows)]
        if self.gen == "float":
            return [round(rng.uniform(self.min, self.max), 2) for _ in range(rows)]
        if self.gen in ("choice", "cycle"):
            if not self.values:
                raise RemediationError(f"column {self.name}: {self.gen} without values")
            if self.gen == "cycle":
                return [self.values[i % len(self.values)] for i in range(rows)]
            return [rng.choice(self.values) for _ in range(rows)]
        start = datetime.fromisoformat(str(self.start)) if isinstance(self.start, str) else datetime(2024, 1, 1)
        return [start + timedelta(seconds=i * self.step_seconds) for i in range(rows)]


class SeedTable(Frozen):
    rows: int = Field(ge=0, le=1_000_000)
    columns: tuple[Column, ...] = Field(min_length=1)

    def arrow_schema(self) -> pa.Schema:
        import pyarrow as pa  # noqa: PLC0415

        return pa.schema([(c.name, pa.type_for_alias(c.type)) for c in self.columns])

    def generate(self, name: str, seed: int) -> pa.Table:
        """The table's rows: the same for the same spec and seed, on every machine."""
        import pyarrow as pa  # noqa: PLC0415

        data = {}
        for col in self.columns:
            rng = random.Random(f"{seed}:{name}:{col.name}")  # noqa: S311 - repeatable test data, not secrets
            arrow = pa.type_for_alias(col.type)
            raw = col.values_for(self.rows, rng)
            if pa.types.is_integer(arrow):
                raw = [int(v) for v in raw]  # type: ignore[call-overload]
            data[col.name] = pa.array(raw, type=arrow)
        return pa.table(data, schema=self.arrow_schema())

    def describe(self) -> dict[str, object]:
        return {"rows": self.rows, "columns": {c.name: c.type for c in self.columns}}


class SeedSpec(Frozen):
    description: str = ""
    namespace: str = Field(min_length=1)
    seed: int = 42
    tables: dict[str, SeedTable] = Field(min_length=1)


def seeds_dir() -> Path:
    return builtin_playbook_dir() / "seeds"


def load_seed(name_or_path: str) -> SeedSpec:
    """A seed spec by name (``playbooks/seeds/<name>.yaml``) or by path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = seeds_dir() / f"{name_or_path}.yaml"
    if not path.is_file():
        raise RemediationError(f"no seed spec {name_or_path!r} ({path})")
    try:
        return load_yaml_model(SeedSpec, path)
    except ConfigError as exc:
        raise RemediationError(f"seed spec {exc}") from None
