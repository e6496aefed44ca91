"""Typed models of what the servers the probes ask answer: one module per server, read once at the edge.

A probe that digs through ``dict.get`` chains decides, at every step, what a missing or odd field means, and each
probe decides differently. Here each answer is a frozen pydantic model of the fields the probes use (unknown
fields ignored: servers add fields between versions), so a body that does not fit is one event — the probe's
``bad_response``/``not_json`` finding, as it always was — and everything after it is typed.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Model"]


class Model(BaseModel):
    """A frozen model of a server's answer: fields it does not declare are ignored, aliases are the wire names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)
