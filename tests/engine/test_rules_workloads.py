"""The rules of floe_agents/rules/workloads.yaml, with findings built here and folded by analyze() over the Floe
topology: why a workload does not run is the root cause on its component (its tcp/http failures and what depends
on it fold under it), below the seed's specific causes; a missing ConfigMap is a root cause like a missing Secret;
an optional reference left empty explains the failures it links to."""

from __future__ import annotations

from typing import Any

import pytest

from floe_agents.analysis import analyze
from floe_agents.findings import Finding, Severity, Status
from floe_agents.rules import builtin_rules
from floe_agents.topology import floe_topology

RULES = builtin_rules()
CLASSES = ("image_pull", "oom_killed", "permission_denied", "missing_module", "bad_arguments", "config_error",
           "crashed")  # fmt: skip


def mk(component: str, code: str, subject: str = "", status: Status = Status.FAIL, **evidence: Any) -> Finding:
    return Finding(component=component, check=code.split(".", 1)[0], status=status, code=code,
                   summary=f"{component} {code}", subject=subject or code, evidence=evidence)  # fmt: skip


def pod(component: str, cls: str | None, code: str = "k8s.pod_crashloop", **evidence: Any) -> Finding:
    why: dict[str, Any] = (
        {"class": cls, "quote": f"the line saying {cls}", "workload": f"deployment/{component}"} if cls else {}
    )
    return mk(component, code, f"pod/{component}-1/main", pod=f"{component}-1", container="main", **why, **evidence)


def causes(*findings: Finding) -> list[tuple[str, str, list[str]]]:
    analysis = analyze(findings, RULES, floe_topology())
    return [(rc.rule, rc.component, sorted(s.finding.subject for s in rc.symptoms)) for rc in analysis.root_causes]


def priority(rule_id: str) -> int:
    return next(r.priority for r in RULES.rules if r.id == rule_id)


def test_why_a_workload_does_not_run_ranks_between_reachability_and_the_seed_causes() -> None:
    floor, seed = priority("component-not-listening"), priority("missing-secret")
    for cls in CLASSES:
        assert floor > priority("component-unhealthy")
        assert floor < priority(f"workload-{cls.replace('_', '-')}") < seed, cls
    # A crash on a dependency that does not answer is that dependency's symptom when it is seen down.
    assert priority("workload-dependency-unreachable") < floor
    # Reasons no rerun fixes rank above the raw tables a seed Job never wrote; below every seed rule folding Jobs.
    for cls in ("image_pull", "oom_killed", "permission_denied", "missing_module", "bad_arguments"):
        assert (
            priority("missing-raw-tables")
            < priority(f"workload-{cls.replace('_', '-')}")
            < priority("missing-namespace")
        )


@pytest.mark.parametrize("cls", CLASSES)
def test_the_reason_is_the_root_cause_of_its_components_failures_and_what_depends_on_it(cls: str) -> None:
    rule = f"workload-{cls.replace('_', '-')}"
    code = {"image_pull": "k8s.pod_image_pull", "config_error": "k8s.pod_config_error"}.get(cls, "k8s.pod_crashloop")
    found = [
        pod("dagster-user-code", cls, code),
        mk("dagster-user-code", "tcp.refused", "floe-demo:3030"),
        mk("dagster-webserver", "http.error_status", "/server_info"),  # needs the user code
        mk("dagster-webserver", "dagster.location_unreachable", "floe-demo"),
    ]
    assert causes(*found) == [(rule, "dagster-user-code", ["/server_info", "floe-demo", "floe-demo:3030"])]


def test_a_crash_on_a_dependency_that_does_not_answer_folds_under_that_dependency() -> None:
    crash = pod("dagster-daemon", "dependency_unreachable")
    assert causes(crash, mk("postgres", "tcp.refused", "floe-infra-postgresql:5432")) == [
        ("component-not-listening", "postgres", ["pod/dagster-daemon-1/main"])
    ]
    assert causes(crash) == [("workload-dependency-unreachable", "dagster-daemon", [])]  # nothing else to blame


def test_an_unclassified_pod_finding_is_no_workload_cause() -> None:
    """No log, no exit code: nothing says why, so the reachability rules decide as before."""
    found = [pod("polaris", None), mk("polaris", "tcp.refused", "polaris:8181")]
    assert causes(*found) == [("component-not-listening", "polaris", ["pod/polaris-1/main"])]


def test_a_missing_secret_stays_the_cause_of_the_pods_waiting_for_it() -> None:
    secret = mk("dagster-webserver", "k8s.secret_missing", "secret/pg/password", severity=Severity.CRITICAL,
                components=["dagster-webserver", "dagster-daemon"], secret_name="pg", key="password")  # fmt: skip
    waiting = [
        pod("dagster-webserver", None, "k8s.pod_config_error"),
        pod("dagster-daemon", None, "k8s.pod_config_error"),
    ]
    crash = pod("dagster-user-code", "crashed")  # another workload's own reason stays its own
    folded = ["pod/dagster-daemon-1/main", "pod/dagster-webserver-1/main", "web:80"]
    assert causes(secret, *waiting, mk("dagster-webserver", "tcp.refused", "web:80"), crash) == [
        ("missing-secret", "dagster-webserver", folded),
        ("workload-crashed", "dagster-user-code", []),
    ]


def test_a_missing_configmap_is_the_cause_of_the_pods_that_need_it() -> None:
    missing = mk("dagster-webserver", "k8s.configmap_key_missing", "configmap/floe-instance/dagster.yaml",
                 components=["dagster-daemon", "dagster-webserver"], configmap_name="floe-instance",
                 key="dagster.yaml")  # fmt: skip
    found = [
        missing,
        pod("dagster-daemon", None, "k8s.pod_config_error"),
        mk("dagster-webserver", "tcp.refused", "web:80"),
    ]
    analysis = analyze(found, RULES, floe_topology())
    [cause] = analysis.root_causes
    assert (cause.rule, cause.affected_components) == ("missing-configmap", ("dagster-daemon",))
    assert (
        cause.title
        == "Missing ConfigMap (configmap/floe-instance/dagster.yaml): the pods that reference it cannot start"
    )


def test_a_failed_job_is_its_reasons_only_when_no_rerun_can_fix_it() -> None:
    oom = pod("dagster-user-code", "oom_killed", "k8s.hook_job_failed", job="dagster-run-1")
    crashed = mk("iceberg", "k8s.hook_job_failed", "job/floe-infra-seed-data", job="floe-infra-seed-data")
    assert causes(oom, crashed) == [("workload-oom-killed", "dagster-user-code", []), ("job-failed", "iceberg", [])]
    # A seed fault that fails the Job stays its cause, whatever the Job's pod said.
    seed = mk("polaris", "polaris.storage_endpoint_mismatch", "catalog demo", severity=Severity.CRITICAL)
    denied = pod("iceberg", "permission_denied", "k8s.hook_job_failed", job="floe-infra-seed-data")
    assert causes(seed, denied) == [("storage-endpoint-mismatch", "polaris", ["pod/iceberg-1/main"])]


def test_an_optional_reference_left_empty_explains_its_components_failures_not_anothers_reason() -> None:
    empty = mk("dagster-user-code", "k8s.optional_ref_unresolved", "optional/configmap/otel/endpoint", Status.WARN,
               kind="ConfigMap", ref_name="otel", env_var="OTEL_EXPORTER_OTLP_ENDPOINT",
               left_empty="env OTEL_EXPORTER_OTLP_ENDPOINT unset")  # fmt: skip
    crash = pod("dagster-user-code", "crashed")
    assert causes(empty, crash) == [("optional-reference-empty", "dagster-user-code", ["pod/dagster-user-code-1/main"])]
    oom = pod("dagster-user-code", "oom_killed")
    assert sorted(causes(empty, oom)) == [
        ("optional-reference-empty", "dagster-user-code", []),
        ("workload-oom-killed", "dagster-user-code", []),
    ]
    # Elsewhere, a crash whose last words name the unset variable is linked to it.
    named = pod("cube", "config_error", empty_env_var="OTEL_EXPORTER_OTLP_ENDPOINT")
    assert causes(empty, named) == [("optional-reference-empty", "dagster-user-code", ["pod/cube-1/main"])]
    assert causes(empty, pod("cube", "config_error")) == [
        ("workload-config-error", "cube", []),
        ("optional-reference-empty", "dagster-user-code", []),
    ]
