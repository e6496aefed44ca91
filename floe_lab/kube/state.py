"""Reading initial objects for ``--state FILE``: YAML or JSON manifests, the way ``kubectl apply -f`` takes them.

Why so permissive about shape: lab scenarios are written by hand and dumped from real clusters, so a file may be
a list of manifests, a ``kind: List`` (or ``PodList``...) with ``items``, or a multi-document YAML stream.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["load_manifests"]


def _flatten(document: Any) -> list[dict[str, Any]]:
    if document is None:
        return []
    if isinstance(document, list):
        return [m for item in document for m in _flatten(item)]
    if not isinstance(document, dict):
        raise TypeError(f"a manifest must be an object, got {type(document).__name__}")
    if str(document.get("kind", "")).endswith("List") and isinstance(document.get("items"), list):
        return [m for item in document["items"] for m in _flatten(item)]
    return [document]


def load_manifests(path: str | Path) -> list[dict[str, Any]]:
    """Every manifest in the file (JSON is YAML, so one parser reads both)."""
    text = Path(path).read_text(encoding="utf-8")
    return [m for document in yaml.safe_load_all(text) for m in _flatten(document)]
