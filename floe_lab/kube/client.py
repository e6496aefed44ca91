"""A ``kubernetes_asyncio`` configuration pointing at the stand-in.

Why a helper: the lab, its demos and its tests all connect the real client the same way (plain HTTP on
loopback, bearer token), and getting one detail wrong (the ``BearerToken`` key, the ``Bearer`` prefix) gives
confusing 401s. The client is imported on call so the server process does not pay for importing it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["client_configuration"]


def client_configuration(url: str, token: str | None = None) -> Any:
    """A ``kubernetes_asyncio.client.Configuration`` for ``url`` (e.g. ``http://127.0.0.1:PORT``)."""
    from kubernetes_asyncio.client import Configuration  # noqa: PLC0415 - the server process never needs it

    config = Configuration(host=url)
    if token is not None:
        config.api_key = {"BearerToken": token}
        config.api_key_prefix = {"BearerToken": "Bearer"}
    return config
