"""`lab down`'s "nothing left listening" names only ports this lab still holds, not a port another process (another
lab, on a busy machine) was given after this lab let it go — a false alarm that failed a test run before."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from floe_lab import procs
from floe_lab.control import ports_still_held

pytestmark = pytest.mark.anyio


@pytest.fixture
def stranger() -> Iterator[int]:
    """A port this test process (which carries no lab's marker) listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_the_listener_of_a_port_is_the_process_holding_its_socket(stranger: int) -> None:
    assert procs.listener_pids(stranger) == {os.getpid()}
    assert procs.listener_pids(procs.free_port()) == set()


async def test_a_port_another_process_took_is_not_this_labs_leak(tmp_path: Path, stranger: int) -> None:
    port = procs.free_port()
    spec = procs.ProcSpec(name="http", argv=[sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                          ports={"http": port}, ready=[procs.TcpReady(port)])  # fmt: skip
    rec = await procs.start(tmp_path, spec)  # carries this lab's marker, as every server `lab up` starts does
    try:
        assert procs.listening([port, stranger]) == [port, stranger]
        assert ports_still_held(tmp_path, [port, stranger]) == [port]
    finally:
        await procs.stop(tmp_path, rec)
    assert ports_still_held(tmp_path, [port, stranger]) == []
