"""The targets file: where each component answers, from each vantage.

The same component is reached differently from a laptop (NodePorts on localhost) and from a pod (Service DNS
names); a fault is often exactly that the two disagree. So every endpoint carries one URL per vantage, the run
declares which vantage it observes from (``vantage``), and each vantage says how names resolve there (the
system resolver, or a static hosts table for a vantage we cannot stand in). Built-in defaults match the upstream
charts (namespace ``floe``; releases floe-infra, floe-dagster, floe-cube); a user file is merged over them.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, RootModel, SecretStr, model_validator

from floe_agents.config.loading import ConfigError, quote, read_yaml, validate_model

__all__ = [
    "CLUSTER_VANTAGE",
    "POD_NAMESPACE_FILE",
    "ComponentTarget",
    "CredentialsTarget",
    "EndpointTarget",
    "KubernetesTarget",
    "Targets",
    "VantageSpec",
    "default_targets",
    "load_targets",
    "pod_namespace",
]


# The vantage name of in-cluster clients (pods): where the catalog, Dagster and the seed Jobs resolve names from.
CLUSTER_VANTAGE = "cluster"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _checked_url(value: str) -> str:
    """A URL a probe can connect to: it parses, names a scheme and a host, and any port is in 1..65535."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        msg = f"not a valid URL {quote(value)} ({exc})"
        raise ValueError(msg) from None
    if not parts.scheme or not parts.netloc:
        msg = f"URL {quote(value)} needs a scheme and a host (like http://host:port)"
        raise ValueError(msg)
    if not parts.hostname:
        msg = f"URL {quote(value)} has no host"
        raise ValueError(msg)
    if port is not None and not 1 <= port <= 65535:
        msg = f"URL {quote(value)} has port {port}, outside 1..65535"
        raise ValueError(msg)
    return value


Url = Annotated[str, AfterValidator(_checked_url)]


class VantageSpec(_Strict):
    """How host names resolve from a vantage. ``system``: this process's resolver (only for our own vantage or
    one that shares our DNS); ``hosts``: a static table (name -> address), with ``search`` suffixes tried like a
    pod's resolv.conf; ``none``: we cannot resolve from there (checks report unknown)."""

    resolver: Literal["system", "hosts", "none"] = "system"
    hosts: dict[str, str] = Field(default_factory=dict)
    search: list[str] = Field(default_factory=list)


class EndpointTarget(_Strict):
    """One endpoint of a component: a URL per vantage, and an optional HTTP health path."""

    urls: dict[str, Url] = Field(default_factory=dict)
    health_path: str | None = Field(default=None, pattern=r"^/")
    expect_status: list[Annotated[int, Field(ge=100, le=599)]] = Field(default_factory=lambda: [200])

    def url_for(self, vantage: str) -> str | None:
        return self.urls.get(vantage)


class ComponentTarget(_Strict):
    enabled: bool = True
    endpoints: dict[str, EndpointTarget] = Field(default_factory=dict)
    depends_on: list[str] | None = Field(default=None, description="Override/extend the built-in graph edges.")


class KubernetesTarget(_Strict):
    mode: Literal["kubeconfig", "in-cluster", "url", "none"] = "none"
    kubeconfig: str | None = None
    context: str | None = None
    url: Url | None = None
    token: SecretStr | None = None
    verify_tls: bool = True


class CredentialsTarget(RootModel[dict[str, SecretStr | None]]):
    """Credentials probes log in with, by the name a probe declares (``polaris_client_secret: ...``). The file
    is open to any probe's names: each probe declares its own (``floe_agents.registry.Credential``), with the
    environment variable Floe's pods use as a fallback (e.g. ``POLARIS_CLIENT_SECRET``), so nothing secret has
    to be written here. Written values are redacted from every output unless their probe declares them not
    secret (a client id, a region)."""

    model_config = ConfigDict(frozen=True)
    root: dict[str, SecretStr | None] = Field(default_factory=dict)

    def written(self) -> dict[str, str | None]:
        """The values as written (None for a name written empty)."""
        return {k: v.get_secret_value() if v is not None else None for k, v in self.root.items()}

    def secret_values(self, public: Collection[str] = ()) -> list[str]:
        """The written values, but those whose names are in ``public`` (declared not secret)."""
        return [v for k, v in self.written().items() if v is not None and k not in public]


class SourceTables(_Strict):
    """The raw source tables the pipeline reads (dbt sources, bronze assets), in the default catalog: where a
    deployment keeps them is its own choice, so it is read from here, never assumed. The default is upstream's
    seed (``demo.raw_*``)."""

    namespace: str = Field(default="demo", min_length=1)
    tables: tuple[str, ...] = ("raw_customers", "raw_products", "raw_orders", "raw_order_items")


class Targets(_Strict):
    namespace: str = "floe"
    vantage: str = "local"
    vantages: dict[str, VantageSpec] = Field(default_factory=dict)
    kubernetes: KubernetesTarget = Field(default_factory=KubernetesTarget)
    components: dict[str, ComponentTarget] = Field(default_factory=dict)
    credentials: CredentialsTarget = Field(default_factory=CredentialsTarget)
    platform: str | None = Field(default=None, description="platform.yaml to use when --config is not given.")
    source_tables: SourceTables = Field(default_factory=SourceTables)

    @model_validator(mode="after")
    def _vantage_known(self) -> Targets:
        if self.vantage not in self.vantages:
            known = ", ".join(sorted(self.vantages)) or "none"
            msg = f"vantage {quote(self.vantage)} is not declared under 'vantages' (declared: {known})"
            raise ValueError(msg)
        return self

    def secrets(self, public_credentials: Collection[str] = ()) -> list[str]:
        """The secret values this file holds: the Kubernetes token and the credentials not declared public."""
        token = [self.kubernetes.token.get_secret_value()] if self.kubernetes.token else []
        return token + self.credentials.secret_values(public_credentials)


def _svc(name: str, port: int, scheme: str = "http") -> str:
    return f"{scheme}://{name}:{port}"


def _local(port: int, scheme: str = "http") -> str:
    return f"{scheme}://localhost:{port}"


def default_targets_data() -> dict[str, Any]:
    """Built-in defaults as plain data (so a user file can be deep-merged over them)."""
    ns = "floe"
    search = [f"{ns}.svc.cluster.local", "svc.cluster.local", "cluster.local"]

    def ep(cluster: str | None, local: str | None = None, health: str | None = None) -> dict[str, Any]:
        urls = {k: v for k, v in (("cluster", cluster), ("local", local)) if v}
        return {"urls": urls, "health_path": health}

    return {
        "namespace": ns,
        "vantage": "local",
        "vantages": {"local": {"resolver": "system"}, "cluster": {"resolver": "none", "search": search}},
        "kubernetes": {"mode": "none"},
        "components": {
            "postgres": {"endpoints": {"sql": ep(_svc("floe-infra-postgresql", 5432, "postgresql"))}},
            "s3": {"endpoints": {"api": ep(_svc("floe-infra-localstack", 4566), _local(30566), "/_localstack/health")}},
            "polaris": {
                "endpoints": {
                    "api": ep(_svc("floe-infra-polaris", 8181), _local(30181)),
                    "management": ep(_svc("floe-infra-polaris", 8182), None, "/q/health/ready"),
                }
            },
            "jaeger": {
                "endpoints": {
                    "query": ep(_svc("floe-infra-jaeger-query", 16686), _local(30686), "/api/services"),
                    "otlp-grpc": ep(_svc("floe-infra-jaeger-collector", 4317, "grpc")),
                }
            },
            "marquez": {
                "endpoints": {"api": ep(_svc("floe-infra-marquez", 5000), _local(30500), "/api/v1/namespaces")}
            },
            "dagster-webserver": {
                "endpoints": {"http": ep(_svc("floe-dagster-dagster-webserver", 80), _local(30000), "/server_info")}
            },
            "dagster-user-code": {
                "endpoints": {"grpc": ep(_svc("floe-dagster-dagster-user-deployments-floe-demo", 3030, "grpc"))}
            },
            "dagster-daemon": {},
            "iceberg": {},
            "kubernetes": {},
            "cube": {"endpoints": {"api": ep(_svc("floe-cube-api", 4000), _local(30400), "/readyz")}},
        },
    }


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def default_targets() -> Targets:
    return Targets.model_validate(default_targets_data())


# Where a kubelet writes the namespace of the pod's ServiceAccount (kubernetes-asyncio does not read it).
POD_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def pod_namespace(path: Path = POD_NAMESPACE_FILE) -> str | None:
    """The namespace this pod runs in, or None outside a pod (or when the file is unreadable or empty)."""
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def load_targets(path: Path | None, *, namespace_file: Path = POD_NAMESPACE_FILE) -> Targets:
    """The built-in defaults, with the file at ``path`` (if any) deep-merged over them.

    In a pod (``kubernetes.mode: in-cluster``) a file that names no namespace means the pod's own: the manifests a
    team renames with kustomize's ``namespace:`` then need no second edit inside the targets file they mount."""
    if path is None:
        return default_targets()
    data = read_yaml(path)
    if not isinstance(data, dict):
        return validate_model(Targets, data, path)  # raises the uniform "expected a mapping" error
    targets = validate_model(Targets, _deep_merge(default_targets_data(), data), path)
    _check_vantages(targets, path)
    if "namespace" not in data and targets.kubernetes.mode == "in-cluster":
        own = pod_namespace(namespace_file)
        if own is not None:
            targets = targets.model_copy(update={"namespace": own})
    return targets


def _check_vantages(targets: Targets, path: Path) -> None:
    """Every vantage an endpoint gives a URL for is declared (a misspelt one would silently never be used)."""
    known = ", ".join(sorted(targets.vantages))
    for comp_name, comp in targets.components.items():
        for ep_name, ep in comp.endpoints.items():
            for vantage in ep.urls:
                if vantage not in targets.vantages:
                    field = f"components.{comp_name}.endpoints.{ep_name}.urls.{vantage}"
                    problem = f"vantage {quote(vantage)} is not declared under 'vantages' (declared: {known})"
                    raise ConfigError(path, problem, field=field)
