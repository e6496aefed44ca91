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

import re
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from kubernetes_asyncio import client

from floe_agents.config.targets import CLUSTER_VANTAGE
from floe_agents.context import ProbeContext
from floe_agents.findings import Finding, Status
from floe_agents.probes._catalog import call, catalog_targets, classify, login
from floe_agents.probes._credentials import CATALOG_LOGIN
from floe_agents.probes._kube_api import KubeError, list_items
from floe_agents.probes._kube_objects import Json, comp_of, dicts, get
from floe_agents.registry import probe
from floe_agents.resolve import CannotResolveHereError, ResolveError

CODES = {
    "endpoints.ok": "ok: the host is a Service serving the port (or resolves in the cluster)",
    "endpoints.host_not_a_service": "fail: the host is no Service and does not resolve in the cluster",
    "endpoints.port_mismatch": "fail: the Service exists but does not serve the URL's port",
    "endpoints.unverified": "unknown: not a Service name, and cluster resolution cannot be observed from here",
    "endpoints.catalog_unreadable": "unknown: the catalog's storage config could not be read (why in evidence)",
    "endpoints.no_cluster_view": "unknown: Services/pod env unreadable (Kubernetes API not configured or failing)",
}

RESOLVE_TIMEOUT_S = 2.5
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$")
_DEFAULT_PORT = {"http": 80, "https": 443, "postgresql": 5432, "postgres": 5432}
_STORAGE_FIELDS = ("endpoint", "endpointInternal", "stsEndpoint")


@dataclass(frozen=True)
class Use:
    """A URL, where it was found, and the component that uses it."""

    url: str
    where: str
    component: str
    context: tuple[tuple[str, Any], ...] = ()  # extra evidence, e.g. the catalog's pathStyleAccess


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


async def _catalog_uses(ctx: ProbeContext) -> tuple[list[Use], list[Finding]]:
    """The storage endpoints the Polaris catalog(s) hand to clients (and use themselves)."""
    if "polaris" not in ctx.targets.components:
        return [], []
    targets = catalog_targets(ctx)
    warehouses = sorted({c.warehouse for c in ctx.platform.catalogs.values()}) if ctx.platform else []

    def unreadable(reason: str, subject: str = "catalog storage config", **evidence: Any) -> Finding:
        ev = {"reason": reason, "polaris_api": str(targets[0].url) if targets and targets[0].url else None,
              "warehouses": warehouses, **evidence}  # fmt: skip
        return ctx.finding(Status.UNKNOWN, "endpoints.catalog_unreadable", f"cannot read the storage endpoint of "
                           f"{subject}: {reason}", component="polaris", subject=subject, evidence=ev)  # fmt: skip

    if not targets or targets[0].url is None:
        return [], [unreadable(f"polaris has no 'api' endpoint for vantage {ctx.vantage!r}")]
    token = await login(ctx, targets[0])
    if not isinstance(token, str):
        code, why, evidence = token
        return [], [unreadable(why, cause=code, error=evidence.get("error") or evidence.get("reason"))]
    catalogs: list[Json] = []
    problems: list[Finding] = []
    for name in warehouses or [""]:  # no platform.yaml: every catalog the server lists
        subject = f"catalog {name}" if name else "the catalog list"
        ans = await call(ctx, "GET", targets[0].management(f"catalogs/{name}".rstrip("/")), token=token)
        if ans.status == 200 and isinstance(ans.json, dict):
            catalogs += [ans.json] if name else dicts(ans.json.get("catalogs"))
        elif ans.status == 404:
            problems.append(unreadable(f"{subject} does not exist (HTTP 404)", subject, status=404))
        else:
            problems.append(unreadable(classify(ans, subject)[1], subject, status=ans.status or None))
    uses = []
    for cat in catalogs:
        raw = cat.get("storageConfigInfo")
        info: Json = raw if isinstance(raw, dict) else {}
        context = tuple((f"catalog_{k}", info.get(k)) for k in ("storageType", "pathStyleAccess", "stsUnavailable"))
        uses += [Use(info[f], f"catalog {cat.get('name')} storageConfigInfo.{f}", "polaris", context)
                 for f in _STORAGE_FIELDS if isinstance(info.get(f), str) and info[f]]  # fmt: skip
    return uses, problems


def _env_uses(pods: list[Json], configmaps: dict[str, Json]) -> list[Use]:
    """URL-looking env values of every pod (literal, from a ConfigMap key, or envFrom a ConfigMap), once per
    workload/container/variable. Secret-sourced values are not read."""
    seen: set[tuple[str, ...]] = set()
    out: list[Use] = []
    for pod in pods:
        name, owners = str(get(pod, "metadata", "name")), dicts(get(pod, "metadata", "ownerReferences"))
        workload = str(owners[0].get("name")) if owners else name
        spec = pod.get("spec") or {}
        for ctr in dicts(spec.get("initContainers")) + dicts(spec.get("containers")):
            found: list[tuple[str, Any, str]] = []
            for env in dicts(ctr.get("env")):
                ref = get(env, "valueFrom", "configMapKeyRef") or {}
                value = env.get("value", get(configmaps.get(str(ref.get("name"))), "data", str(ref.get("key"))))
                found.append((str(env.get("name")), value, f" (ConfigMap {ref['name']})" if ref.get("name") else ""))
            for src in dicts(ctr.get("envFrom")):
                cm = str(get(src, "configMapRef", "name"))
                data = get(configmaps.get(cm), "data") or {}
                found += [(f"{src.get('prefix', '')}{k}", v, f" (envFrom ConfigMap {cm})") for k, v in data.items()]
            for var, value, via in found:
                key = (workload, str(ctr.get("name")), var, str(value))
                if isinstance(value, str) and _URL.match(value.strip()) and key not in seen:
                    seen.add(key)
                    out.append(Use(value.strip(), f"pod {name} env {var}{via}", comp_of(pod)))
    return out


async def _cluster_view(ctx: ProbeContext) -> tuple[dict[str, Json] | None, list[Use], list[Finding]]:
    """(Services by name, pod-env uses, problems). Services are None when the API cannot tell us."""
    (api, kube_error), ns = await ctx.services.kube.get(), ctx.targets.namespace
    reason = None if api is not None else (kube_error or "no Kubernetes API in the targets")
    got: dict[str, list[Json]] = {}
    if api is not None:
        core = client.CoreV1Api(api)
        calls = {"pods": core.list_namespaced_pod, "services": core.list_namespaced_service,
                 "configmaps": core.list_namespaced_config_map}  # fmt: skip
        errors: dict[str, str] = {}

        async def fetch(res: str) -> None:
            try:
                got[res] = await list_items(calls[res], ns)
            except KubeError as exc:
                errors[res] = str(exc)

        async with anyio.create_task_group() as tg:
            for res in calls:
                tg.start_soon(fetch, res)
        reason = "; ".join(f"listing {res}: {why}" for res, why in sorted(errors.items())) or None
    problems = []
    if reason:
        summary = f"Services or pod environments unreadable, checking by name resolution only: {reason}"
        problems.append(ctx.finding(Status.UNKNOWN, "endpoints.no_cluster_view", summary, subject="cluster view",
                                    evidence={"reason": reason, "namespace": ns}))  # fmt: skip
    services = {str(get(s, "metadata", "name")): s for s in got["services"]} if "services" in got else None
    configmaps = {str(get(c, "metadata", "name")): c for c in got.get("configmaps", [])}
    return services, _env_uses(got.get("pods", []), configmaps), problems


async def _resolve(ctx: ProbeContext, host: str) -> dict[str, tuple[str, Any]]:
    """vantage -> ("ok", addresses) | ("fail", reason) | ("unobservable", reason)."""
    out: dict[str, tuple[str, Any]] = {}

    async def one(vantage: str) -> None:
        resolver = ctx.resolver(vantage)
        if resolver is None:
            out[vantage] = ("unobservable", "no resolver")
            return
        out[vantage] = ("fail", f"no answer within {RESOLVE_TIMEOUT_S:g}s")
        with anyio.move_on_after(RESOLVE_TIMEOUT_S):
            try:
                out[vantage] = ("ok", await resolver.resolve(host))
            except ResolveError as exc:
                out[vantage] = ("fail", str(exc))
            except CannotResolveHereError as exc:
                out[vantage] = ("unobservable", str(exc))

    async with anyio.create_task_group() as tg:
        for vantage in ctx.targets.vantages:
            tg.start_soon(one, vantage)
    return out


def _service_name(host: str, namespace: str) -> str | None:
    """The Service a cluster-style host names in ``namespace`` (svc, svc.ns, svc.ns.svc[.cluster.local])."""
    parts = host.lower().split(".")
    if len(parts) == 1 or (parts[1] == namespace and parts[2:] in ([], ["svc"], ["svc", "cluster", "local"])):
        return parts[0]
    return None


def _judge(ctx: ProbeContext, use: Use, services: dict[str, Json] | None, seen: dict[str, Any]) -> Finding:
    url = httpx.URL(use.url)
    host, port = url.host, url.port or _DEFAULT_PORT.get(url.scheme)
    resolution = seen.get(host, {})
    cluster = resolution.get(CLUSTER_VANTAGE, ("unobservable", f"no {CLUSTER_VANTAGE!r} vantage declared"))
    by_outcome = {k: sorted(v for v, r in resolution.items() if r[0] == k) for k in ("ok", "fail", "unobservable")}
    ev: Json = {"url": str(url.copy_with(username=None, password=None, query=None, fragment=None)), "host": host,
                "port": port, "where": use.where, "resolves_in": by_outcome["ok"], "fails_in": by_outcome["fail"],
                "unobservable_in": by_outcome["unobservable"]}  # fmt: skip
    svc_name = _service_name(host, ctx.targets.namespace)
    svc = services.get(svc_name) if services is not None and svc_name else None

    def finding(status: Status, code: str, summary: str, **extra: Any) -> Finding:
        return ctx.finding(status, code, f"{use.where}: {summary}", component=use.component, subject=use.where,
                           evidence={**ev, **dict(use.context), **extra})  # fmt: skip

    if svc is not None:
        ports = [p.get("port") for p in dicts(get(svc, "spec", "ports"))]
        if port is not None and port not in ports:
            return finding(Status.FAIL, "endpoints.port_mismatch", f"Service {svc_name} does not serve port {port} "
                           f"(it serves {ports})", service=svc_name, service_ports=ports)  # fmt: skip
        return finding(Status.OK, "endpoints.ok", f"{host}:{port} is Service {svc_name}", service=svc_name,
                       service_ports=ports)  # fmt: skip
    missing = services is not None and svc_name is not None
    no_svc = (
        f"there is no Service {svc_name} in namespace {ctx.targets.namespace}"
        if missing
        else f"{host} is not a Service name"
    )
    if cluster[0] == "ok":
        return finding(Status.OK, "endpoints.ok", f"{host} resolves in the cluster", service=None)
    if cluster[0] == "fail" or missing:
        why = f"{no_svc}, and {host} does not resolve in the cluster"
        return finding(Status.FAIL, "endpoints.host_not_a_service", why, service=None, cluster_resolution=cluster[1])
    why = f"{no_svc}, and whether it resolves in the cluster cannot be observed from here ({cluster[1]})"
    return finding(Status.UNKNOWN, "endpoints.unverified", why, service=None)


@probe(
    "endpoints",
    components=["kubernetes"],
    timeout=12.0,
    description="Every configured URL names a live Service",
    codes=CODES,
    credentials=CATALOG_LOGIN,
)
async def endpoints(ctx: ProbeContext) -> list[Finding]:
    """Check every URL in platform.yaml, the catalog storage config and pod env against the namespace's Services."""
    uses = _platform_uses(ctx)
    problems: list[Finding] = []
    services: dict[str, Json] | None = None

    async def catalog() -> None:
        found, bad = await _catalog_uses(ctx)
        uses.extend(found)
        problems.extend(bad)

    async def cluster() -> None:
        nonlocal services
        services, found, bad = await _cluster_view(ctx)
        uses.extend(found)
        problems.extend(bad)

    async with anyio.create_task_group() as tg:
        tg.start_soon(catalog)
        tg.start_soon(cluster)
    valid = []
    for use in uses:
        try:
            if httpx.URL(use.url).host:
                valid.append(use)
        except httpx.InvalidURL:
            continue  # not a URL after all (a value that merely looks like one)
    resolved: dict[str, Any] = {}

    async def resolve(host: str) -> None:
        resolved[host] = await _resolve(ctx, host)

    async with anyio.create_task_group() as tg:
        for host in sorted({httpx.URL(u.url).host for u in valid}):
            tg.start_soon(resolve, host)
    findings = [_judge(ctx, use, services, resolved) for use in valid]
    return problems + sorted(findings, key=lambda f: (f.component, f.subject))
