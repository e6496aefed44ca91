"""Fixtures of the deploy tests: each overlay rendered once per session (kubectl takes a fraction of a second each,
and every test reads the same output)."""

from __future__ import annotations

import pytest

from tests.deploy.kustomize import DEPLOY, KUBECTL, NO_KUBECTL, OVERLAYS, Obj, render


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Obj]]:
    """Overlay name -> the objects ``kubectl kustomize deploy/overlays/<name>`` renders."""
    if KUBECTL is None:
        pytest.skip(NO_KUBECTL)
    return {name: render(DEPLOY / "overlays" / name) for name in OVERLAYS}
