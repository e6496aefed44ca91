"""Text from outside made safe to quote in a report: bounded, decoded, without control characters.

Why one function for it: a server's error body, an exception's message and a process's output all end up in
findings, and from there in Markdown, JSON and a terminal. Garbage bytes, escape sequences and megabyte lines
must stop here, once, whatever produced them.
"""

from __future__ import annotations

import unicodedata

__all__ = ["printable"]

_KEPT_CONTROLS = frozenset("\n\t")


def printable(text: str | bytes, limit: int) -> str:
    """Outside text made safe to quote: bytes decoded (invalid ones replaced), control and other unprintable
    characters dropped but newline and tab, at most ``limit`` characters (the last an ellipsis when cut)."""
    if isinstance(text, bytes):
        text = text[: limit * 4].decode("utf-8", "replace")
    text = text[: limit * 4]  # enough for ``limit`` kept characters unless most are dropped
    kept = "".join(ch for ch in text if ch in _KEPT_CONTROLS or ch == " " or unicodedata.category(ch)[0] not in "CZ")
    return kept if len(kept) <= limit else kept[: limit - 1] + "…"
