"""The labs a test suite starts may shorten the kubelet's restart back-off (FLOE_LAB_RESTART_BACKOFF); a lab
started without it, or with nonsense, runs a real kubelet's (the kubelet's defaults, pinned in its own tests)."""

from __future__ import annotations

import pytest

from floe_lab.control import RESTART_BACKOFF_ENV, _backoff_args


@pytest.mark.parametrize(
    ("value", "args"),
    [
        (None, []),
        ("", []),
        ("abc", []),
        ("0", []),
        ("-1", []),
        ("nan", []),
        ("61", []),
        ("1", ["--backoff-base", "1", "--backoff-max", "30"]),
        ("0.5", ["--backoff-base", "0.5", "--backoff-max", "15"]),
    ],
)
def test_the_back_off_setting(value: str | None, args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    if value is None:
        monkeypatch.delenv(RESTART_BACKOFF_ENV, raising=False)
    else:
        monkeypatch.setenv(RESTART_BACKOFF_ENV, value)
    assert _backoff_args() == args
