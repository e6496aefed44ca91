"""Endpoints: does every URL the platform hands out name a Service that exists, on a port it serves, and resolve
where it is used?

The seed's blocker was a URL, not a server: the catalog stored ``http://floe-infra-localstack:4566`` (or, worse, a
name only a laptop knows) as its storage endpoint, and every client it handed that to failed with
UnknownHostException. Such a URL is wrong long before anything connects to it, and it can hide in three places:
platform.yaml, the Polaris catalog's ``storageConfigInfo``, and pod environments (``AWS_ENDPOINT_URL``,
``POLARIS_URI``, ``OTEL_EXPORTER_OTLP_ENDPOINT`` ...). This probe collects them all, checks each host against the
namespace's Services (exists? serves that port?) and resolves it from every vantage, and files the finding under
the component that *uses* the URL, saying where it was found.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import httpx
from pydantic import Field, JsonValue

from floe_agents.config.targets import CLUSTER_VANTAGE
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.gather import gather
from floe_agents.probes._catalog import REQUEST_TIMEOUT_S as CATALOG_TIMEOUT_S
from floe_agents.probes._catalog import catalog_problem, catalog_targets, login
from floe_agents.probes._credentials import CATALOG_LOGIN
from floe_agents.probes._http import call_json
from floe_agents.probes._kube_api import list_all
from floe_agents.probes._kube_objects import Evidence, comp_of
from floe_agents.probes._models import Model
from floe_agents.probes._models.kube import ConfigMap, Pod, Ref, Service
from floe_agents.probes._models.lenient import JsonObject, Lenient, dicts_only, parse_each
from floe_agents.probes._models.polaris import StorageConfigInfo
from floe_agents.probes._urls import URL_VARIABLE, malformed, path_served, suggest
from floe_agents.probes._vantages import Resolution, resolve_everywhere
from floe_agents.registry import probe
from floe_agents.topology import FLOE_COMPONENTS

CODES = {
    "endpoints.ok": "ok: the host is a Service serving the port (or resolves in the cluster)",
    "endpoints.host_not_a_service": "fail: the host is no Service and does not resolve in the cluster",
    "endpoints.port_mismatch": "fail: the Service exists but does not serve the URL's port",
    "endpoints.unverified": "unknown: not a Service name, and cluster resolution cannot be observed from here",
    "endpoints.catalog_unreadable": "unknown: the catalog's storage config could not be read (why in evidence)",
    "endpoints.no_cluster_view": "unknown: Services/pod env unreadable (Kubernetes API not configured or failing)",
    "endpoints.url_malformed": "fail: a configured URL has no scheme, an empty host or cannot be parsed",
    "endpoints.path_not_served": "fail: a URL names a component's Service with a path its API does not serve",
}
FIXES = {
    "endpoints.host_not_a_service": "Point {evidence.where} at a Service that exists (kubectl -n {namespace} get svc), "
    "or create the Service it names.",
    "endpoints.port_mismatch": "Use one of the ports Service {evidence.service} serves ({evidence.service_ports}) in "
    "{evidence.where}.",
    "endpoints.url_malformed": "Write {evidence.where} as a whole URL: {evidence.suggested}.",
    "endpoints.path_not_served": "Write {evidence.where} with a path {evidence.component_served} serves: "
    "{evidence.suggested}.",
}

RESOLVE_TIMEOUT_S = 2.5
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$")
_DEFAULT_PORT = {"http": 80, "https": 443, "postgresql": 5432, "postgres": 5432}
_STORAGE_FIELDS = ("endpoint", "endpointInternal", "stsEndpoint")
SERVES = {c.name: c.serves for c in FLOE_COMPONENTS}  # the path prefixes each component's HTTP APIs answer


@dataclass(frozen=True)
class Use:
    """A URL, where it was found, and the component that uses it."""

    url: str
    where: str
    component: str
    context: tuple[tuple[str, object], ...] = ()  # extra evidence, e.g. the catalog's pathStyleAccess


@dataclass(frozen=True)
class _Found:
    """URLs found in one place, the problems met finding them, and (from the cluster) its Services."""

    uses: list[Use]
    problems: list[Finding]
    services: dict[str, Service] | None = None  # None: the API cannot tell us


class _Catalog(Model):
    """A catalog of Polaris's management API: where it says its storage is."""

    name: JsonValue = None
    storage: Lenient[StorageConfigInfo] = Field(StorageConfigInfo(), alias="storageConfigInfo")


def _platform_uses(ctx: ProbeContext) -> list[Use]:
    if ctx.platform is None:
        return []
    prefixes = (
        ("storage.", "s3"),
        ("catalogs.", "polaris"),
        ("observability.otlp", "jaeger"),
        ("observability.lin", "marquez"),
    )
    return [Use(url, f"platform.yaml {key}", next((c for p, c in prefixes if key.startswith(p)), "kubernetes"))
            for key, url in ctx.platform.urls().items()]  # fmt: skip


async def _catalog_uses(ctx: ProbeContext) -> _Found:
    """The storage endpoints the Polaris catalog(s) hand to clients (and use themselves)."""
    if "polaris" not in ctx.targets.components:
        return _Found([], [])
    targets = catalog_targets(ctx)
    warehouses = sorted({c.warehouse for c in ctx.platform.catalogs.values()}) if ctx.platform else []

    def unreadable(reason: str, subject: str = "catalog storage config", **evidence: object) -> Finding:
        ev = {"reason": reason, "polaris_api": str(targets[0].url) if targets and targets[0].url else None,
              "warehouses": warehouses, **evidence}  # fmt: skip
        return ctx.finding(Status.UNKNOWN, "endpoints.catalog_unreadable", f"cannot read the storage endpoint of "
                           f"{subject}: {reason}", component="polaris", subject=subject, evidence=ev)  # fmt: skip

    if not targets or targets[0].url is None:
        return _Found([], [unreadable(f"polaris has no 'api' endpoint for vantage {ctx.vantage!r}")])
    token = await login(ctx, targets[0])
    if not isinstance(token, str):
        why = token.evidence.get("error") or token.evidence.get("reason")
        return _Found([], [unreadable(token.summary, cause=token.code, error=why)])
    catalogs: list[_Catalog] = []
    problems: list[Finding] = []
    for name in warehouses or [""]:  # no platform.yaml: every catalog the server lists
        subject = f"catalog {name}" if name else "the catalog list"
        url = targets[0].management(f"catalogs/{name}".rstrip("/"))
        ans = await call_json(ctx, "GET", url, timeout_s=CATALOG_TIMEOUT_S, bounded=True, token=token)
        if ans.status == 200 and isinstance(ans.body, dict):
            catalogs += parse_each(_Catalog, [ans.body] if name else dicts_only(ans.body.get("catalogs")))
        elif ans.status == 404:
            problems.append(unreadable(f"{subject} does not exist (HTTP 404)", subject, status=404))
        else:
            problems.append(unreadable(catalog_problem(ans, subject).summary, subject, status=ans.status or None))
    uses = []
    for cat in catalogs:
        info = cat.storage
        context = (("catalog_storageType", info.storage_type), ("catalog_pathStyleAccess", info.path_style_access),
                   ("catalog_stsUnavailable", info.sts_unavailable))  # fmt: skip
        urls = (("endpoint", info.endpoint), ("endpointInternal", info.endpoint_internal),
                ("stsEndpoint", info.sts_endpoint))  # fmt: skip
        uses += [Use(url, f"catalog {cat.name} storageConfigInfo.{f}", "polaris", context) for f, url in urls if url]
    return _Found(uses, problems)


def _env_uses(pods: list[Pod], configmaps: dict[str, ConfigMap]) -> list[Use]:
    """URL-looking env values of every pod (literal, from a ConfigMap key, or envFrom a ConfigMap), once per
    workload/container/variable. Secret-sourced values are not read."""
    seen: set[tuple[str, ...]] = set()
    out: list[Use] = []
    for pod in pods:
        owners = pod.metadata.owner_references
        workload = str(owners[0].name) if owners else pod.name
        for ctr in pod.spec.init_containers + pod.spec.containers:
            found: list[tuple[str, JsonValue, str]] = []
            for env in ctr.env:
                ref = env.value_from.config_map_key_ref or Ref()
                source = configmaps.get(str(ref.name))
                default = source.data.get(str(ref.key)) if source else None
                value = env.value if "value" in env.model_fields_set else default
                found.append((str(env.name), value, f" (ConfigMap {ref.name})" if ref.name else ""))
            for src in ctr.env_from:
                cm = str(src.config_map_ref.name if src.config_map_ref else None)
                data = configmaps[cm].data if cm in configmaps else {}
                found += [(f"{src.prefix}{k}", v, f" (envFrom ConfigMap {cm})") for k, v in data.items()]
            for var, value, via in found:
                key = (workload, str(ctr.name), var, str(value))
                wanted = isinstance(value, str) and (_URL.match(value.strip()) or named_url(var, value))
                if wanted and isinstance(value, str) and key not in seen:
                    seen.add(key)
                    out.append(Use(value.strip(), f"pod {pod.name} env {var}{via}", comp_of(pod)))
    return out


async def _cluster_view(ctx: ProbeContext) -> _Found:
    """Services by name (None when the API cannot tell us), the URLs in pod environments, and the problems."""
    (api, kube_error), ns = await ctx.services.kube.get(), ctx.targets.namespace
    reason = None if api is not None else (kube_error or "no Kubernetes API in the targets")
    got: dict[str, list[JsonObject]] = {}
    if api is not None:
        from kubernetes_asyncio import client  # noqa: PLC0415 - ~1 s to import: not before the first probe runs

        core = client.CoreV1Api(api)
        calls = {"pods": core.list_namespaced_pod, "services": core.list_namespaced_service,
                 "configmaps": core.list_namespaced_config_map}  # fmt: skip
        got, errors = await list_all(calls, ns)
        reason = "; ".join(f"listing {res}: {exc}" for res, exc in sorted(errors.items())) or None
    problems = []
    if reason:
        summary = f"Services or pod environments unreadable, checking by name resolution only: {reason}"
        problems.append(ctx.finding(Status.UNKNOWN, "endpoints.no_cluster_view", summary, subject="cluster view",
                                    evidence={"reason": reason, "namespace": ns}))  # fmt: skip
    services = {s.name: s for s in parse_each(Service, got["services"])} if "services" in got else None
    configmaps = {c.name: c for c in parse_each(ConfigMap, got.get("configmaps", []))}
    return _Found(_env_uses(parse_each(Pod, got.get("pods", [])), configmaps), problems, services)


def _service_name(host: str, namespace: str) -> str | None:
    """The Service a cluster-style host names in ``namespace`` (svc, svc.ns, svc.ns.svc[.cluster.local])."""
    parts = host.lower().split(".")
    if len(parts) == 1 or (parts[1] == namespace and parts[2:] in ([], ["svc"], ["svc", "cluster", "local"])):
        return parts[0]
    return None


def _judge(ctx: ProbeContext, use: Use, services: dict[str, Service] | None, seen: list[Resolution]) -> Finding:
    url = httpx.URL(use.url)
    host, port = url.host, url.port or _DEFAULT_PORT.get(url.scheme)
    unseen = Resolution(CLUSTER_VANTAGE, "unobservable", reason=f"no {CLUSTER_VANTAGE!r} vantage declared")
    cluster = next((r for r in seen if r.vantage == CLUSTER_VANTAGE), unseen)
    by_outcome = {k: sorted(r.vantage for r in seen if r.outcome == k) for k in ("ok", "fail", "unobservable")}
    ev: Evidence = {"url": str(url.copy_with(username=None, password=None, query=None, fragment=None)), "host": host,
                    "port": port, "where": use.where, "resolves_in": by_outcome["ok"], "fails_in": by_outcome["fail"],
                    "unobservable_in": by_outcome["unobservable"]}  # fmt: skip
    svc_name = _service_name(host, ctx.targets.namespace)
    svc = services.get(svc_name) if services is not None and svc_name else None

    def finding(status: Status, code: str, summary: str, **extra: object) -> Finding:
        return ctx.finding(status, code, f"{use.where}: {summary}", component=use.component, subject=use.where,
                           evidence={**ev, **dict(use.context), **extra})  # fmt: skip

    if svc is not None:
        ports = svc.ports
        if port is not None and port not in ports:
            return finding(Status.FAIL, "endpoints.port_mismatch", f"Service {svc_name} does not serve port {port} "
                           f"(it serves {ports})", service=svc_name, service_ports=ports)  # fmt: skip
        served = SERVES.get(comp_of(svc), ())
        if not path_served(url.path, served):
            target = comp_of(svc)
            fixed = str(url.copy_with(path=served[0].rstrip("/"), query=None, fragment=None))
            return finding(Status.FAIL, "endpoints.path_not_served", f"{target} (Service {svc_name}) serves "
                           f"{', '.join(served)}, not {url.path}", service=svc_name, component_served=target,
                           served_paths=list(served), suggested=fixed)  # fmt: skip
        return finding(Status.OK, "endpoints.ok", f"{host}:{port} is Service {svc_name}", service=svc_name,
                       service_ports=ports)  # fmt: skip
    missing = services is not None and svc_name is not None
    no_svc = (
        f"there is no Service {svc_name} in namespace {ctx.targets.namespace}"
        if missing
        else f"{host} is not a Service name"
    )
    if cluster.outcome == "ok":
        return finding(Status.OK, "endpoints.ok", f"{host} resolves in the cluster", service=None)
    if cluster.outcome == "fail" or missing:
        why = f"{no_svc}, and {host} does not resolve in the cluster"
        return finding(
            Status.FAIL, "endpoints.host_not_a_service", why, service=None, cluster_resolution=cluster.reason
        )
    why = f"{no_svc}, and whether it resolves in the cluster cannot be observed from here ({cluster.reason})"
    return finding(Status.UNKNOWN, "endpoints.unverified", why, service=None)


_HOSTISH = re.compile(r"^(?://)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::\d*)?(?:/\S*)?$")


def named_url(var: str, value: str) -> bool:
    """A value kept as a URL by its variable's name although it has no scheme, when it reads as a host, port and
    path; not an OTLP endpoint (its gRPC exporter takes a bare ``host:port``) unless it starts with ``//``."""
    text = value.strip()
    if not URL_VARIABLE.search(var) or not _HOSTISH.match(text):
        return False
    return not var.startswith("OTEL_") or text.startswith("//")


def _malformed(ctx: ProbeContext, use: Use, why: str) -> Finding:
    fixed = suggest(use.url)
    return ctx.finding(Status.FAIL, "endpoints.url_malformed", f"{use.where}: {use.url!r} is no usable URL: {why}",
                       component=use.component, subject=use.where, evidence={"url": use.url, "where": use.where,
                       "problem": why, "suggested": fixed or "<scheme>://<host>:<port>/<path>"})  # fmt: skip


@probe(
    "endpoints",
    components=["kubernetes"],
    timeout=12.0,
    description="Every configured URL is well formed and names a live Service and a path it serves",
    codes=CODES,
    fixes=FIXES,
    credentials=CATALOG_LOGIN,
)
async def endpoints(ctx: ProbeContext) -> list[Finding]:
    """Check every URL in platform.yaml, the catalog storage config and pod env against the namespace's Services."""
    catalog, cluster = await gather([functools.partial(_catalog_uses, ctx), functools.partial(_cluster_view, ctx)])
    valid, broken = [], []
    for use in [*_platform_uses(ctx), *catalog.uses, *cluster.uses]:
        if (why := malformed(use.url)) is None:
            valid.append(use)
        else:
            broken.append(_malformed(ctx, use, why))
    hosts = sorted({httpx.URL(u.url).host for u in valid})
    seen = await gather(functools.partial(resolve_everywhere, ctx, host, timeout_s=RESOLVE_TIMEOUT_S) for host in hosts)
    resolved = dict(zip(hosts, seen, strict=True))
    findings = [_judge(ctx, use, cluster.services, resolved[httpx.URL(use.url).host]) for use in valid]
    findings += broken
    return catalog.problems + cluster.problems + sorted(findings, key=lambda f: (f.component, f.subject))
