"""The one base for the engine's immutable, closed pydantic models (rules, playbooks, analysis, report).

A value that several consumers read (a rule, a root cause, the report) must not change under one of them, and a
field the schema does not know is a typo to report rather than data to carry: frozen and ``extra="forbid"``,
declared once so every model means the same by it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Frozen"]


class Frozen(BaseModel):
    """A frozen pydantic model that rejects unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
