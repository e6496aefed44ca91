"""The names a lab is deployed under: namespace, Helm release, catalog (warehouse) and S3 buckets.

Why one typed value: the lab must be startable under other names than the Floe charts' (``lab up --namespace
data-platform --release acme``) to prove that floe-agents reads every name from platform.yaml, the targets file
or the cluster and assumes none. Every manifest, hook Job, launcher, targets file and platform.yaml the lab writes
takes its names from a :class:`LabNames`; the defaults are the upstream charts', so a lab started without options
is the one it always was. ``lab up`` saves the value in the state folder (``names.json``): ``lab status``, the
launchers the kubelet calls, the mutation counters and heal all read it back from there.

The release name plays Helm's ``.Release.Name`` prefix: ``--release acme`` gives the releases ``acme-infra``,
``acme-dagster`` and ``acme-cube``, the credentials Secret ``acme-demo-credentials`` and the code location
``acme-demo``, as ``floe`` gives today's ``floe-infra``, ``floe-demo-credentials`` and ``floe-demo``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["LAYERS", "NAMES_FILE", "LabNameError", "LabNames"]

NAMES_FILE = "names.json"
LAYERS = ("bronze", "silver", "gold")
# Buckets the init Job creates besides the layers' (Dagster's compute logs, Cube's pre-aggregations).
EXTRA_BUCKETS = ("dagster-compute-logs", "cube-preaggs")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # DNS-1123 label (namespaces, label values)
_SERVICE_NAME = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # DNS-1035 label (Service names start with a letter)
_WAREHOUSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # a Polaris catalog name, also a URL path segment
_MAX_LABEL = 63


class LabNameError(ValueError):
    """A name the lab cannot deploy under; the message is one line for the user."""


@dataclass(frozen=True)
class LabNames:
    """Where the lab's stack lives and what its data stores are called (defaults: the upstream charts')."""

    namespace: str = "floe"
    release: str = "floe"
    warehouse: str = "demo_catalog"
    bucket_prefix: str = "iceberg"

    @property
    def infra(self) -> str:
        return f"{self.release}-infra"

    @property
    def dagster(self) -> str:
        return f"{self.release}-dagster"

    @property
    def cube(self) -> str:
        return f"{self.release}-cube"

    @property
    def credentials_secret(self) -> str:
        return f"{self.release}-demo-credentials"

    @property
    def code_location(self) -> str:
        """The Dagster user deployment and code location (also the pipeline's OpenLineage namespace)."""
        return f"{self.release}-demo"

    @property
    def user_code(self) -> str:
        """The user deployment's Deployment and Service, named as the Dagster chart names them."""
        return f"{self.dagster}-dagster-user-deployments-{self.code_location}"

    @property
    def webserver(self) -> str:
        return f"{self.dagster}-dagster-webserver"

    @property
    def service_name(self) -> str:
        """The OpenTelemetry ``service.name`` platform.yaml gives the pipeline's traces."""
        return f"{self.release}-k8s-local"

    def bucket(self, layer: str) -> str:
        return f"{self.bucket_prefix}-{layer}"

    @property
    def layer_buckets(self) -> dict[str, str]:
        return {layer: self.bucket(layer) for layer in LAYERS}

    @property
    def buckets(self) -> tuple[str, ...]:
        """Every bucket the S3 init Job creates: the layers', then compute logs and pre-aggregations."""
        return (*self.layer_buckets.values(), *EXTRA_BUCKETS)

    def validated(self) -> LabNames:
        """``self``, or :class:`LabNameError` naming the first option whose value Kubernetes, Polaris or S3 refuses."""
        if not _DNS_LABEL.match(self.namespace) or len(self.namespace) > _MAX_LABEL:
            raise LabNameError(f"--namespace {self.namespace!r} is not a DNS-1123 label ({_RULE})")
        if not _SERVICE_NAME.match(self.release):
            raise LabNameError(f"--release {self.release!r} is not a DNS-1035 label ({_RULE}; the first a letter)")
        if len(self.user_code) > _MAX_LABEL:
            longest = len(self.user_code) - 2 * len(self.release)
            raise LabNameError(
                f"--release {self.release!r} is too long: the user code Service {self.user_code} would have "
                f"{len(self.user_code)} characters (at most {_MAX_LABEL}: a release of at most "
                f"{(_MAX_LABEL - longest) // 2})"
            )
        if not _WAREHOUSE.match(self.warehouse) or len(self.warehouse) > _MAX_LABEL:
            raise LabNameError(
                f"--warehouse {self.warehouse!r} is not a catalog name (letters, digits, '_' and '-', starting with "
                f"a letter or digit, at most {_MAX_LABEL})"
            )
        longest_bucket = max(self.layer_buckets.values(), key=len)
        if not _DNS_LABEL.match(self.bucket_prefix) or len(longest_bucket) > _MAX_LABEL:
            raise LabNameError(
                f"--bucket-prefix {self.bucket_prefix!r} does not make S3 bucket names ({longest_bucket}: "
                f"lower-case letters, digits and '-', starting and ending with a letter or digit, at most {_MAX_LABEL})"
            )
        return self

    def save(self, state_dir: Path) -> None:
        (state_dir / NAMES_FILE).write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, state_dir: Path) -> LabNames:
        """The names the lab in ``state_dir`` was started under (the defaults for a lab saved before there were
        other names, or none)."""
        try:
            data = json.loads((state_dir / NAMES_FILE).read_text())
        except FileNotFoundError:
            return cls()
        return cls(**{k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__})


_RULE = f"lower-case letters, digits and '-', starting and ending with a letter or digit, at most {_MAX_LABEL}"
