"""How the stand-in is configured: the same knobs a Polaris pod gets from its chart.

Why a dataclass of its own: the process entry (``python -m floe_lab.polaris``) and the in-process context
manager used by tests must mean the same thing by every setting. ``--bootstrap-credentials`` follows
``POLARIS_BOOTSTRAP_CREDENTIALS`` (``REALM,client_id,client_secret``, several separated by ``;``); the static
AWS keys are what the pod's environment carries (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``) and what
Polaris signs its own S3/STS requests with.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["POLARIS_VERSION", "BootstrapCredentials", "PolarisConfig", "parse_bootstrap"]

# The Apache Polaris release whose API (spec/polaris-management-service.yml, the Iceberg REST spec it bundles) and
# answers the stand-in imitates; it prints it where Polaris does, in the Quarkus startup line.
POLARIS_VERSION = "1.7.0"


@dataclass(frozen=True)
class BootstrapCredentials:
    """The root principal's client credentials for one realm."""

    realm: str
    client_id: str
    client_secret: str


def parse_bootstrap(raw: str) -> tuple[BootstrapCredentials, ...]:
    """``POLARIS,demo_client,demo_secret_k8s`` (``;``-separated for several realms)."""
    out = []
    for chunk in raw.split(";"):
        if not chunk.strip():
            continue
        parts = [p.strip() for p in chunk.split(",")]
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"bootstrap credentials must be REALM,CLIENT_ID,CLIENT_SECRET, got {chunk!r}")
        out.append(BootstrapCredentials(*parts))
    return tuple(out)


@dataclass(frozen=True)
class PolarisConfig:
    """Everything the stand-in needs; ports 0 let the OS choose."""

    db_url: str
    port: int = 0
    mgmt_port: int = 0
    services_file: str | None = None
    bootstrap: tuple[BootstrapCredentials, ...] = ()
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    aws_region: str = "us-east-1"

    @classmethod
    def from_env(
        cls, db_url: str, overrides: Mapping[str, object] | None = None, env: Mapping[str, str] | None = None
    ) -> PolarisConfig:
        """Fill the AWS settings from a pod-like environment (default: this process's)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "aws_access_key_id": env.get("AWS_ACCESS_KEY_ID") or None,
            "aws_secret_access_key": env.get("AWS_SECRET_ACCESS_KEY") or None,
            "aws_session_token": env.get("AWS_SESSION_TOKEN") or None,
            "aws_region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        }
        overrides = overrides or {}
        if "bootstrap" not in overrides and env.get("POLARIS_BOOTSTRAP_CREDENTIALS"):
            values["bootstrap"] = parse_bootstrap(env["POLARIS_BOOTSTRAP_CREDENTIALS"])
        values.update(overrides)
        return cls(db_url=db_url, **values)  # type: ignore[arg-type]
