"""``k8s.set_env``: give a workload's containers the environment variables platform.yaml asks for.

Why: the seed's observability was silent because the user code never got ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OPENLINEAGE_URL``: upstream's emitters then fall back to a no-op without a word. The fix is a strategic-merge
patch of the pod template's named containers holding only those variables (env lists merge by ``name``, so no
other variable, container or field is touched); the template change makes the controller roll the pods, and the
step waits (bounded) until the new pods are Ready.

``telemetry: true`` derives the values from platform.yaml's ``observability`` (the file the platform itself is
configured from): the OTLP endpoint and ``service.name`` when traces are on, the OpenLineage *base* URL (the
client appends ``/api/v1/lineage`` itself, so the platform's lineage endpoint is cut back to its base) and
``openlineage.namespace`` when lineage is on. ``env`` adds or overrides explicit values. A variable already
holding the wanted value (literally, or through a ConfigMap key whose value is the wanted one) plans nothing; one
fed by a Secret key is left alone, as its value is not ours to read. The undo text restores the old values.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from pydantic import Field, model_validator

from floe_agents.heal_context import HealContext, RemediationError
from floe_agents.remediation import Action, Change, Params, Step, remediation
from floe_agents.remediations._kube import EnvVar, Json, Kube, Workload, WorkloadKind, wait_rollout

__all__ = ["SetEnvParams", "platform_env", "spec"]

LINEAGE_API_PATH = "/api/v1/lineage"  # what OpenLineage's HTTP transport appends to OPENLINEAGE_URL
_NAMESPACE_KEYS = ("openlineage.namespace", "lineage.namespace")


class SetEnvParams(Params):
    namespace: str = Field(min_length=1)
    workload: str | None = Field(None, description="The Deployment/StatefulSet by name (the cause's evidence).")
    kind: WorkloadKind | None = Field(None, description="Its kind; default: a Deployment, else a StatefulSet.")
    selector: str | None = Field(None, description="Or every workload matching this label selector.")
    containers: tuple[str, ...] = Field((), description="Containers to set; default: all of the template's.")
    env: dict[str, str] = Field(default_factory=dict, description="Explicit values (override telemetry's).")
    telemetry: bool = Field(False, description="Add the OTLP/OpenLineage settings platform.yaml asks for.")
    wait_seconds: float = Field(180.0, ge=0, le=1800, description="Wait for the rollout (0: do not wait).")

    @model_validator(mode="after")
    def _what(self) -> SetEnvParams:
        if not (self.workload or self.selector):
            raise ValueError("name the workload, or give a label selector")
        if not (self.env or self.telemetry):
            raise ValueError("nothing to set: give env, or telemetry: true")
        return self


def platform_env(ctx: HealContext) -> dict[str, str]:
    """The telemetry variables platform.yaml asks the pipeline's user code to have."""
    if ctx.platform is None:
        raise RemediationError("telemetry: true needs platform.yaml (the targets name none)")
    obs, out = ctx.platform.observability, {}
    if obs.traces and obs.otlp_endpoint:
        out["OTEL_EXPORTER_OTLP_ENDPOINT"] = obs.otlp_endpoint
        if obs.service_name:
            out["OTEL_SERVICE_NAME"] = obs.service_name
    if obs.lineage and obs.lineage_endpoint:
        base = obs.lineage_endpoint.rstrip("/")
        out["OPENLINEAGE_URL"] = base.removesuffix(LINEAGE_API_PATH) or base
        namespace = next((obs.attributes[k] for k in _NAMESPACE_KEYS if obs.attributes.get(k)), None)
        if namespace:
            out["OPENLINEAGE_NAMESPACE"] = namespace
    if not out:
        raise RemediationError("platform.yaml asks for no telemetry endpoint (observability.*_endpoint unset)")
    return out


async def _targets(kube: Kube, p: SetEnvParams) -> list[Workload]:
    if p.workload:
        for kind in [p.kind] if p.kind else ["Deployment", "StatefulSet"]:
            found = await kube.workload(kind, p.namespace, p.workload)  # type: ignore[arg-type]  # a WorkloadKind
            if found is not None:
                return [found]
        raise RemediationError(f"no {p.kind or 'Deployment or StatefulSet'} {p.namespace}/{p.workload}")
    found_all = await kube.workloads(p.namespace, p.selector)
    if not found_all:
        raise RemediationError(f"no Deployment or StatefulSet in {p.namespace} matches {p.selector!r}")
    return found_all


async def _current(kube: Kube, ns: str, var: EnvVar | None, cache: dict[str, Json]) -> str | None:
    """What ``var`` holds now: its value, the ConfigMap key's value, a description of a Secret key, or None."""
    if var is None:
        return None
    ref = var.value_from.config_map_key_ref if var.value_from else None
    if ref is not None and ref.name:
        if ref.name not in cache:
            cache[ref.name] = await kube.call(kube.core.read_namespaced_config_map, ref.name, ns, verb="get",
                                              what=f"ConfigMap {ns}/{ref.name}", missing_ok=True)  # fmt: skip
        value = (cache[ref.name].get("data") or {}).get(ref.key or "")
        return str(value) if value is not None else None
    secret = var.value_from.secret_key_ref if var.value_from else None
    if secret is not None:
        return f"<from Secret {secret.name} key {secret.key}>"
    return var.value or ""


@dataclass(frozen=True)
class _Var:
    new: str
    old: str | None
    by_ref: bool  # the old value came through valueFrom, which the patch must drop


def _step(ctx: HealContext, kube: Kube, p: SetEnvParams, w: Workload, changes: dict[str, dict[str, _Var]]) -> Step:
    ns, what = p.namespace, f"{w.kind} {p.namespace}/{w.name}"
    _, _, patch_fn = kube.workload_api(w.kind)
    containers = [
        {"name": c, "env": [{"name": n, "value": v.new, **({"valueFrom": None} if v.by_ref else {})}
                            for n, v in vars_.items()]}
        for c, vars_ in changes.items()
    ]  # fmt: skip
    body: Json = {"spec": {"template": {"spec": {"containers": containers}}}}
    before = {c: {n: v.old for n, v in vars_.items()} for c, vars_ in changes.items()}
    after = {c: {n: v.new for n, v in vars_.items()} for c, vars_ in changes.items()}
    undo = "; ".join(
        f"kubectl -n {ns} set env {w.kind.lower()}/{w.name} -c {c} "
        + " ".join(f"{n}-" if old is None else shlex.quote(f"{n}={old}") for n, old in olds.items())
        for c, olds in before.items()
    )
    names = sorted({n for v in changes.values() for n in v})
    action = Action(
        kind="kubernetes", verb="patch", target=what,
        summary=f"set {', '.join(names)} on {what} ({', '.join(changes)}), then wait for its rollout",
        body=ctx.mask(body), undo=ctx.mask(undo),
    )  # fmt: skip

    async def run() -> Change:
        try:
            await kube.call(patch_fn, w.name, ns, body, verb="patch", what=what, dry_run="All")
        except RemediationError as exc:
            raise RemediationError(f"server-side dry run refused: {exc}") from None
        await kube.call(patch_fn, w.name, ns, body, verb="patch", what=what)
        if p.wait_seconds:
            await wait_rollout(kube, ns, w.kind, w.name, p.wait_seconds)
        return Change(action=action, before=ctx.mask(before), after=ctx.mask(after))

    return Step(action=action, run=run)


@remediation(
    "k8s.set_env",
    params=SetEnvParams,
    risk="low",
    permissions=[
        ("get", "deployments.apps"),
        ("patch", "deployments.apps"),
        ("get", "statefulsets.apps"),
        ("patch", "statefulsets.apps"),
        ("get", "configmaps"),
    ],
)
async def spec(ctx: HealContext, params: SetEnvParams) -> list[Step]:
    """Set environment variables (e.g. platform.yaml's telemetry endpoints) on a workload's containers."""
    wanted = {**(platform_env(ctx) if params.telemetry else {}), **params.env}
    kube = Kube(ctx)
    cache: dict[str, Json] = {}
    steps = []
    for w in await _targets(kube, params):
        named = {c.name: c for c in w.spec.template.spec.containers}
        unknown = [c for c in params.containers if c not in named]
        if unknown:
            raise RemediationError(f"{w.ref} has no container {', '.join(unknown)} (it has {', '.join(named)})")
        changes: dict[str, dict[str, _Var]] = {}
        for cname in params.containers or tuple(named):
            current = {v.name: v for v in named[cname].env}
            for var, value in wanted.items():
                had = current.get(var)
                ref = had.value_from if had else None
                old = await _current(kube, params.namespace, had, cache)
                if old == value or (ref is not None and ref.secret_key_ref is not None):
                    continue
                changes.setdefault(cname, {})[var] = _Var(value, old, ref is not None)
        if changes:
            steps.append(_step(ctx, kube, params, w, changes))
    return steps
