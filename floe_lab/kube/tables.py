"""Content negotiation for reads, and the ``meta.k8s.io`` Table a ``kubectl get`` asks for.

Why: ``kubectl get`` sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io, ..., application/json`` and
prints the Table's columns and cells as they come (see :mod:`.printers`); the same header on a watch makes every
event's object a one-row Table. Everything else a client may accept is answered as JSON: an ``Accept`` that offers
JSON, ``*/*`` or nothing gets JSON (a client that prefers protobuf, like kubectl's typed clients, lists JSON as its
second choice and reads the answer by its Content-Type); one that accepts nothing this server can write is a 406.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from floe_lab.kube import errors
from floe_lab.kube.errors import ApiError
from floe_lab.kube.objects import JsonObj
from floe_lab.kube.printers import printer_for
from floe_lab.kube.resources import ResourceType

__all__ = ["TableOptions", "table", "table_options"]

_TABLE_VERSIONS = {"v1": "meta.k8s.io/v1", "v1beta1": "meta.k8s.io/v1beta1"}
_JSON_TYPES = frozenset({"application/json", "application/*", "*/*"})
_INCLUDE = frozenset({"None", "Metadata", "Object"})
_DONE = {"Succeeded": "The pod has completed successfully.", "Failed": "The pod failed."}


def _not_acceptable() -> ApiError:
    return ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json")


class TableOptions:
    """A read answered as a Table: its ``apiVersion`` and what each row carries (``includeObject``)."""

    def __init__(self, api_version: str, include: str) -> None:
        self.api_version = api_version
        self.include = include


def _choice(entry: str) -> str | None:
    """What one ``Accept`` entry asks for: ``json``, a Table apiVersion, or None (nothing this server writes)."""
    media, *raw_params = (part.strip() for part in entry.split(";"))
    params = dict(p.partition("=")[::2] for p in raw_params)
    if media.lower() not in _JSON_TYPES:
        return None
    wanted = params.get("as")
    if wanted is None:
        return "json"
    if wanted == "Table" and params.get("g") == "meta.k8s.io":
        return _TABLE_VERSIONS.get(params.get("v", ""))
    return None


def table_options(request: web.Request) -> TableOptions | None:
    """The Table this read asks for, or None for plain JSON; 406 if nothing acceptable is offered."""
    header = request.headers.get("Accept", "").strip()
    if not header:
        return None
    for entry in header.split(","):
        choice = _choice(entry)
        if choice == "json":
            return None
        if choice is not None:
            include = request.query.get("includeObject", "Metadata") or "Metadata"
            if include not in _INCLUDE:
                raise errors.bad_request(f'includeObject: Unsupported value: "{include}"')
            return TableOptions(choice, include)
    raise _not_acceptable()


def _row_object(obj: JsonObj, options: TableOptions) -> JsonObj | None:
    if options.include == "None":
        return None
    if options.include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table(
    rt: ResourceType,
    objects: list[JsonObj],
    options: TableOptions,
    meta: JsonObj,
    *,
    columns: bool = True,
    now: datetime | None = None,
) -> JsonObj:
    """The Table of ``objects`` (full objects, with kind and apiVersion); ``columns=False`` leaves out the column
    definitions, as the apiserver does after a watch's first event (kubectl keeps the ones it printed)."""
    printer = printer_for(rt.plural)
    at = now or datetime.now(UTC)
    rows = []
    for obj in objects:
        row: JsonObj = {"cells": printer.cells(obj, at)}
        phase = (obj.get("status") or {}).get("phase") if rt.plural == "pods" else None
        if phase in _DONE:
            row["conditions"] = [{"type": "Completed", "status": "True", "reason": phase, "message": _DONE[phase]}]
        if (row_object := _row_object(obj, options)) is not None:
            row["object"] = row_object
        rows.append(row)
    body: JsonObj = {"kind": "Table", "apiVersion": options.api_version, "metadata": meta}
    body["columnDefinitions"] = [c.wire() for c in printer.columns] if columns else []
    body["rows"] = rows
    return body
