"""Restart back-off as a kubelet does it: the first restart at once, then 10 s doubling to 300 s, reset after a
quiet 10 minutes; ``CrashLoopBackOff`` with ``back-off 20s restarting failed container=...`` while it waits.

The arithmetic is pinned on a fake clock; a real crash-looping pod (its base lowered, as tests may) shows the
delays its status announces doubling and capping, one per restart count; the default is the kubelet's own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx

from floe_lab import procs
from floe_lab.kubelet import Kubelet
from floe_lab.kubelet.backoff import BACKOFF_BASE, BACKOFF_MAX, Backoff
from floe_lab.kubelet.node import go_duration
from tests.support.kubelet import (
    LAUNCHERS,
    NS,
    TOKEN,
    Lab,
    container,
    container_status,
    running_api,
    running_lab,
    workload,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_first_restart_is_immediate_then_the_delay_doubles_to_its_ceiling() -> None:
    clock = Clock()
    backoff = Backoff(10, 300, clock=clock)
    assert not backoff.in_backoff_since(clock.now)  # never restarted: at once
    seen = []
    for _ in range(8):
        exited = clock.now
        if backoff.in_backoff_since(exited):
            seen.append(backoff.delay)
            clock.now += backoff.remaining(exited)
        backoff.next(exited)
        clock.now += 1  # the container runs a second and exits again
    assert seen == [10, 20, 40, 80, 160, 300, 300]
    assert (BACKOFF_BASE, BACKOFF_MAX) == (10.0, 300.0)


def test_a_container_that_ran_longer_than_twice_the_ceiling_starts_over() -> None:
    clock = Clock()
    backoff = Backoff(10, 300, clock=clock)
    for _ in range(4):
        backoff.next(clock.now)
    assert backoff.delay == 80
    clock.now += 599
    assert not backoff.in_backoff_since(clock.now - 100)  # waited out, but remembered
    backoff.next(clock.now)
    assert backoff.delay == 160
    clock.now += 601  # ten quiet minutes and a bit: forgotten
    assert not backoff.in_backoff_since(clock.now)
    backoff.next(clock.now)
    assert backoff.delay == 10


@asynccontextmanager
async def _pod_watch(lab: Lab) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    """Every write to the namespace's pods, as the watch API streams them."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx.AsyncClient(base_url=lab.url, headers=headers, timeout=None) as http,
        http.stream("GET", f"/api/v1/namespaces/{NS}/pods", params={"watch": "true"}) as response,
    ):

        async def objects() -> AsyncIterator[dict[str, Any]]:
            async for line in response.aiter_lines():
                if line.strip():
                    yield json.loads(line)["object"]

        with anyio.fail_after(60):  # a loop that never gets there fails here, not at the suite's timeout
            yield objects()


async def test_a_crash_loop_announces_doubling_delays_up_to_the_ceiling(tmp_path: Path) -> None:
    base, ceiling = 0.3, 1.2  # every wait long enough to be written even on a loaded machine
    async with running_lab(tmp_path, backoff_base=base, backoff_max=ceiling) as lab, _pod_watch(lab) as pods:
        await lab.apply(workload("Deployment", "crasher", "crash", container("crasher")))
        announced: dict[int, str] = {}
        async for pod in pods:
            status = container_status(pod)
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") == "CrashLoopBackOff":
                announced[status["restartCount"]] = waiting["message"].split()[1]
            if len([n for n, delay in announced.items() if delay == go_duration(ceiling)]) >= 2:
                break
    assert min(announced) >= 1, announced  # the first exit is restarted at once, never announced
    for restarts, delay in announced.items():  # the delay after the n-th restart: base * 2**(n-1), capped
        assert delay == go_duration(min(base * 2 ** (restarts - 1), ceiling)), announced
    assert len(set(announced.values())) >= 2, announced  # seen growing, not only at the ceiling


async def test_the_default_back_off_is_the_kubelets_ten_seconds(tmp_path: Path) -> None:
    async with running_api(tmp_path) as lab:
        async with Kubelet(lab.url, TOKEN, lab.state, LAUNCHERS), _pod_watch(lab) as pods:  # no timing given
            await lab.apply(workload("Deployment", "crasher", "crash", container("crasher")))
            async for pod in pods:
                status = container_status(pod)
                waiting = (status.get("state") or {}).get("waiting") or {}
                if waiting.get("reason") == "CrashLoopBackOff":
                    break
        assert procs.leftover_pids(lab.state) == []
    name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
    assert status["restartCount"] == 1
    assert waiting["message"] == f"back-off 10s restarting failed container=crasher pod={name}_{NS}({uid})"
    assert status["lastState"]["terminated"]["exitCode"] == 3
