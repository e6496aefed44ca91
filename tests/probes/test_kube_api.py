"""probes._kube_api's bounds (issue 11, finding 1): a list is read in pages, at most MAX_ITEMS items, and a body
past the cap is cut while it is read, never read whole; garbage is quoted printable."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from floe_agents.probes import _kube_api
from floe_agents.probes._kube_api import MAX_ITEMS, PAGE_ITEMS, KubeError, list_items
from floe_agents.transport import MAX_BODY_BYTES

CHUNK = 1024 * 1024


class _Content:
    def __init__(self, body: bytes | None, size: int, counter: list[int]) -> None:
        self.body, self.size, self.counter = body, size, counter

    async def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        if self.body is not None:
            self.counter[0] += len(self.body)
            yield self.body
            return
        while self.counter[0] < self.size:
            self.counter[0] += CHUNK
            yield b" " * CHUNK


class _Response:
    """What ``_preload_content=False`` returns, for a body of ``size`` spaces (or ``body``); ``counter`` counts
    the bytes handed out, whether read in chunks or whole (``read``, as aiohttp's does)."""

    def __init__(self, status: int, body: bytes | None = None, size: int = 0) -> None:
        self.status, self.counter = status, [0]
        self.content = _Content(body, size, self.counter)

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.content.iter_chunked(CHUNK)])

    def release(self) -> None:
        pass


async def test_a_huge_list_answer_is_cut_while_read() -> None:
    response = _Response(200, size=50 * CHUNK)

    async def fn(namespace: str, **kwargs: object) -> _Response:
        return response

    with pytest.raises(KubeError) as cut:
        await list_items(fn, "floe")
    assert cut.value.evidence["error"] == "too_large"
    assert cut.value.evidence["cap_bytes"] == MAX_BODY_BYTES
    assert response.counter[0] <= MAX_BODY_BYTES + CHUNK  # cut at the cap, the rest never read


async def test_a_list_is_read_in_pages_and_capped_in_items(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, object]] = []

    async def fn(namespace: str, **kwargs: object) -> _Response:
        calls.append(kwargs)
        page = len(calls)
        body: dict[str, object] = {"items": [{"metadata": {"name": f"p{page}-{i}"}} for i in range(PAGE_ITEMS)]}
        body["metadata"] = {"continue": f"after-{page}"} if page < 3 else {}
        return _Response(200, json.dumps(body).encode())

    items = await list_items(fn, "floe")
    assert len(items) == 3 * PAGE_ITEMS
    assert [c.get("_continue") for c in calls] == [None, "after-1", "after-2"]
    assert all(c["limit"] == PAGE_ITEMS for c in calls)

    calls.clear()
    monkeypatch.setattr(_kube_api, "MAX_ITEMS", 2 * PAGE_ITEMS)
    with pytest.raises(KubeError) as many:
        await list_items(fn, "floe")
    assert many.value.evidence["error"] == "too_large"
    assert len(calls) == 3  # stopped once past the cap
    assert MAX_ITEMS >= 10 * PAGE_ITEMS


async def test_garbage_in_an_error_answer_is_quoted_printable() -> None:
    garbage = bytes(range(256)) * 40

    async def fn(namespace: str, **kwargs: object) -> _Response:
        return _Response(500, garbage)

    with pytest.raises(KubeError) as bad:
        await list_items(fn, "floe")
    reason = str(bad.value.evidence["reason"])
    assert len(reason) <= 220 and all(ch in "\n\t" or ch.isprintable() for ch in reason), reason[:80]
