"""OncePerRun: one computation per key, shared by concurrent askers; a cancelled or failed first asker leaves
the work to the next one instead of a stuck or poisoned key."""

from __future__ import annotations

import anyio
import pytest

from floe_agents.once import OncePerRun


async def test_concurrent_askers_share_one_computation() -> None:
    once, calls = OncePerRun(), []
    got: dict[str, list[object]] = {"a": [], "b": []}

    async def make(key: str) -> object:
        calls.append(key)
        await anyio.sleep(0.05)
        return object()  # a fresh answer each time it is really computed

    async def ask(key: str) -> None:
        got[key].append(await once.get(("token", key), lambda: make(key)))

    async with anyio.create_task_group() as tg:
        for key in ("a", "a", "b", "a"):
            tg.start_soon(ask, key)
    assert sorted(calls) == ["a", "b"]
    assert len(got["a"]) == 3 and all(answer is got["a"][0] for answer in got["a"])
    assert got["b"][0] is not got["a"][0]
    assert await once.get(("token", "a"), lambda: make("a")) is got["a"][0]  # later askers get the kept answer
    assert len(calls) == 2


async def test_a_cancelled_first_asker_hands_the_work_on() -> None:
    once, calls = OncePerRun(), []

    async def make() -> int:
        calls.append(1)
        await anyio.sleep(0.2 if len(calls) == 1 else 0)
        return len(calls)

    results = []

    async def second() -> None:
        await anyio.sleep(0.01)  # waits on the first asker's pending work
        results.append(await once.get("k", make))

    async with anyio.create_task_group() as tg:
        tg.start_soon(second)
        with anyio.move_on_after(0.05):
            await once.get("k", make)
    assert results == [2] and len(calls) == 2


async def test_a_failure_is_not_kept() -> None:
    once, calls = OncePerRun(), []

    async def make() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("first try fails")
        return "ok"

    with pytest.raises(ConnectionError):
        await once.get("k", make)
    assert await once.get("k", make) == "ok"
    assert await once.get("k", make) == "ok"
    assert len(calls) == 2
