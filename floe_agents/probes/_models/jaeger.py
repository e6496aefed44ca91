"""Jaeger query API answers: every one is an envelope ``{"data": [...]}`` (``null`` for none)."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import Field, field_validator

from floe_agents.probes._models import Model

__all__ = ["Envelope", "Span", "Trace"]

T = TypeVar("T")


class Envelope(Model, Generic[T]):
    """``/api/services`` (``Envelope[str]``) and ``/api/traces`` (``Envelope[Trace]``)."""

    data: list[T]

    @field_validator("data", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return [] if value is None else value


class Span(Model):
    start_time: int | None = Field(None, alias="startTime")  # microseconds since the epoch


class Trace(Model):
    trace_id: str | None = Field(None, alias="traceID")
    spans: list[Span] | None = None
