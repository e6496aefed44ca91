"""The leak guard itself: a test that leaves a task running must fail."""

from __future__ import annotations

from pathlib import Path

import pytest

LEAKY = """
import asyncio

async def test_leaks():
    asyncio.get_running_loop().create_task(asyncio.sleep(30))

async def test_clean():
    await asyncio.sleep(0)
"""


def test_a_leaked_task_fails_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest((Path(__file__).parents[1] / "conftest.py").read_text())
    pytester.makeini("[pytest]\nanyio_mode = auto\n")
    pytester.makepyfile(test_inner=LEAKY)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)  # test_leaks errors at teardown
    result.stdout.fnmatch_lines(["*test leaked 1 task*"])
