"""Marquez API answers: namespaces, a namespace's jobs (with their latest run and datasets) and its datasets."""

from __future__ import annotations

from collections.abc import Sized

from pydantic import Field, JsonValue

from floe_agents.probes._models import Model

__all__ = ["DatasetId", "Datasets", "Job", "Jobs", "Namespace", "Namespaces", "Run"]


class Namespace(Model):
    name: str | None = None


class Namespaces(Model):
    """``GET /api/v1/namespaces``."""

    namespaces: list[Namespace]


class Run(Model):
    state: str | None = None


class DatasetId(Model):
    namespace: str | None = None
    name: str | None = None


class Job(Model):
    name: str | None = None
    latest_run: Run | None = Field(None, alias="latestRun")
    inputs: list[DatasetId] | None = None
    outputs: list[DatasetId] | None = None


class _Page(Model):
    total_count: int | None = Field(None, alias="totalCount")

    def total(self, items: Sized) -> int:
        """Marquez's ``totalCount``, else how many items came back."""
        return self.total_count if self.total_count is not None else len(items)


class Jobs(_Page):
    """``GET /api/v1/namespaces/{ns}/jobs``."""

    jobs: list[Job]


class Datasets(_Page):
    """``GET /api/v1/namespaces/{ns}/datasets`` (only counted)."""

    datasets: list[JsonValue]
