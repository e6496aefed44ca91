"""kubernetes probe, why a workload does not run (issue 13, class 1): against the lab's Kubernetes API stand-in,
each workload (a Deployment's, a StatefulSet's, a bare pod, a Job's, a Dagster run worker) written through the
API with the container states it needs, and the log each container "printed" written where the kubelet would; one
test per class of reason, each checked through to the root cause its rule names and the fix it renders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from floe_agents.analysis import analyze
from floe_agents.findings import Finding, Status
from floe_agents.probes.kubernetes import CODES
from floe_agents.rules import builtin_rules, fill
from floe_agents.topology import floe_topology
from tests.support.kube import NS
from tests.support.kube_standin import Standin, investigate, kube_standin
from tests.support.probes import grouped_by_code

DAEMON = {
    "app.kubernetes.io/name": "dagster",
    "app.kubernetes.io/instance": "floe-dagster",
    "component": "dagster-daemon",
}
TRACEBACK = 'Traceback (most recent call last):\n  File "/app/main.py", line 3, in <module>\n    main()\n'
CRASHLOOP = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}}


@pytest.fixture
async def standin() -> AsyncIterator[Standin]:
    async with kube_standin() as running:
        yield running


def crashing(last: dict[str, Any], restarts: int = 6, state: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Running pod whose one container ``main`` last terminated as ``last`` (and now is ``state``)."""
    cs = {"name": "main", "restartCount": restarts, "state": state or CRASHLOOP, "lastState": {"terminated": last}}
    return {"phase": "Running", "containerStatuses": [cs]}


def rendered(finding: Finding, rule_id: str) -> list[str]:
    """The title and fix steps of rule ``rule_id`` filled from ``finding`` (the namespace as the report gives it)."""
    [rule] = [r for r in builtin_rules().rules if r.id == rule_id]
    return [fill(rule.title, finding)] + [fill(step, finding, NS) for step in rule.remediation.manual]


# (class, kind of owner, labels, container, status, previous log, code, component, what the evidence must say)
CASES: list[tuple[str, str, dict[str, str], dict[str, Any], dict[str, Any], str | None, str, str, dict[str, Any]]] = [
    ("image_pull", "Deployment", DAEMON, {"name": "main", "image": "ghcr.io/acme/dagster:nope"},
     {"phase": "Pending", "containerStatuses": [{"name": "main", "state": {"waiting": {
         "reason": "ImagePullBackOff", "message": 'Back-off pulling image "ghcr.io/acme/dagster:nope"'}}}]},
     None, "k8s.pod_image_pull", "dagster-daemon",
     {"quote": 'Back-off pulling image "ghcr.io/acme/dagster:nope"', "image": "ghcr.io/acme/dagster:nope"}),
    ("oom_killed", "Deployment", {"app.kubernetes.io/component": "polaris"},
     {"name": "main", "resources": {"limits": {"memory": "256Mi"}}},
     crashing({"exitCode": 137, "reason": "OOMKilled"}), None, "k8s.pod_crashloop", "polaris",
     {"quote": "OOMKilled: exit code 137", "exit_code": 137, "memory_limit": "256Mi"}),
    ("permission_denied", "Deployment", {"app.kubernetes.io/name": "marquez"},
     {"name": "main", "securityContext": {"runAsUser": 1000, "readOnlyRootFilesystem": True}},
     crashing({"exitCode": 1, "reason": "Error"}),
     f"{TRACEBACK}PermissionError: [Errno 13] Permission denied: '/opt/marquez/marquez.yml'\n",
     "k8s.pod_crashloop", "marquez",
     {"quote": "PermissionError: [Errno 13] Permission denied: '/opt/marquez/marquez.yml'",
      "security_context": "runAsUser=1000, runAsGroup=unset, fsGroup=2000, runAsNonRoot=unset, "
                          "readOnlyRootFilesystem=true"}),
    ("missing_module", "StatefulSet", {"app.kubernetes.io/component": "user-deployments", "deployment": "floe-demo"},
     {"name": "main", "command": ["dagster", "api", "grpc"], "args": ["-m", "floe_demo", "--password", "hunter2"]},
     crashing({"exitCode": 1, "reason": "Error"}),
     f"{TRACEBACK}ModuleNotFoundError: No module named 'floe_demo'\n", "k8s.pod_crashloop", "dagster-user-code",
     {"quote": "ModuleNotFoundError: No module named 'floe_demo'",
      "command": "dagster api grpc -m floe_demo --password ***", "workload": "statefulset/floe-code"}),
    ("bad_arguments", "Deployment", {"component": "dagster-webserver"}, {"name": "main", "args": ["--bogus"]},
     crashing({"exitCode": 2, "reason": "Error"}),
     "Usage: dagster-webserver [OPTIONS]\nTry 'dagster-webserver --help' for help.\n\nError: No such option: --bogus\n",
     "k8s.pod_crashloop", "dagster-webserver", {"quote": "Error: No such option: --bogus", "exit_code": 2}),
    ("config_error", "Deployment", DAEMON, {"name": "main"}, crashing({"exitCode": 1, "reason": "Error"}),
     f'{TRACEBACK}yaml.scanner.ScannerError: mapping values are not allowed here\n  in "/opt/dagster/dagster.yaml", '
     "line 3, column 9\n", "k8s.pod_crashloop", "dagster-daemon",
     {"quote": 'yaml.scanner.ScannerError: mapping values are not allowed here | in "/opt/dagster/dagster.yaml", '
               "line 3, column 9"}),
    ("dependency_unreachable", "Deployment", {"app.kubernetes.io/name": "cube"}, {"name": "main"},
     crashing({"exitCode": 1, "reason": "Error"}, 4, {"running": {"startedAt": "2026-01-01T00:00:00Z"}}),
     "Error: connect ECONNREFUSED 10.0.0.7:8181\n", "k8s.pod_restarting", "cube",
     {"quote": "Error: connect ECONNREFUSED 10.0.0.7:8181"}),
    ("crashed", "Pod", {"app.kubernetes.io/component": "seed-data"}, {"name": "main"},
     {"phase": "Failed", "containerStatuses": [{"name": "main", "state": {"terminated": {"exitCode": 1}}}]},
     f"{TRACEBACK}ZeroDivisionError: division by zero\n", "k8s.pod_failed", "iceberg",
     {"quote": "ZeroDivisionError: division by zero", "workload": "pod/floe-code-0"}),
]  # fmt: skip


@pytest.mark.parametrize(("cls", "kind", "labels", "container", "status", "log", "code", "component", "said"),
                         CASES, ids=[c[0] for c in CASES])  # fmt: skip
async def test_why_a_workload_does_not_run(
    standin: Standin,
    cls: str,
    kind: str,
    labels: dict[str, str],
    container: dict[str, Any],
    status: dict[str, Any],
    log: str | None,
    code: str,
    component: str,
    said: dict[str, Any],
) -> None:
    owner = await standin.owner(kind, "floe-code", labels) if kind != "Pod" else None
    pod_spec = {"securityContext": {"fsGroup": 2000}} if cls == "permission_denied" else None
    await standin.pod("floe-code-0", labels, container, status, owner=owner, log=log, previous=kind != "Pod",
                      pod_spec=pod_spec)  # fmt: skip
    found = grouped_by_code(await investigate(standin), CODES)
    [finding] = found[code]
    ev = finding.evidence
    status_is = Status.WARN if code == "k8s.pod_restarting" else Status.FAIL
    assert (finding.component, finding.status) == (component, status_is)
    workload = {"Deployment": "deployment/floe-code", "StatefulSet": "statefulset/floe-code"}.get(kind)
    assert {"workload": workload, "class": cls, "pod": "floe-code-0", "container": "main", **said}.items() <= ev.items()
    if log is not None:  # the tail of the log of the run that failed (the previous one of a restarted container)
        assert ev["log"] == log
    assert said["quote"] in finding.summary or code in ("k8s.pod_image_pull",)
    assert "hunter2" not in str(ev)
    # The rule for the class makes it the root cause on that component, quoting the line, its fix filled in.
    rule_id = f"workload-{cls.replace('_', '-')}"
    [cause] = analyze([finding], builtin_rules(), floe_topology()).root_causes
    assert (cause.rule, cause.component) == (rule_id, component)
    title, *steps = rendered(finding, rule_id)
    assert said["quote"] in title
    assert not [text for text in (title, *steps) if "<" in text.replace("<value>", "")], (title, steps)


async def test_a_dagster_run_worker_that_cannot_run_is_the_user_codes(standin: Standin) -> None:
    """K8sRunLauncher's Job for a run: labelled run_worker and dagster/run-id, named after the run id. Killed for
    memory it is why the run fails (rerunning cannot help); a seed Job that merely crashed says only that it failed
    (the job-failed rule runs it again once its cause is fixed)."""
    worker = {"app.kubernetes.io/name": "dagster", "app.kubernetes.io/instance": "dagster",
              "app.kubernetes.io/component": "run_worker", "dagster/job": "demo",
              "dagster/run-id": "0f1e2d3c"}  # fmt: skip
    killed = {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}
    oom = {"phase": "Failed", "containerStatuses": [{"name": "main", "state": killed}]}
    owner = await standin.owner("Job", "dagster-run-0f1e2d3c", worker)
    await standin.pod("dagster-run-0f1e2d3c-x", worker, {"name": "main"}, oom, owner=owner, log="", previous=False)
    seed = {"app.kubernetes.io/component": "seed-data"}
    crashed = {"phase": "Failed", "containerStatuses": [{"name": "main", "state": {"terminated": {"exitCode": 1}}}]}
    owner = await standin.owner("Job", "floe-infra-seed-data", seed)
    await standin.pod(
        "floe-infra-seed-data-x", seed, {"name": "main"}, crashed, owner=owner, log="boom\n", previous=False
    )
    jobs = {f.evidence["job"]: f for f in grouped_by_code(await investigate(standin), CODES)["k8s.hook_job_failed"]}
    run, seeded = jobs["dagster-run-0f1e2d3c"], jobs["floe-infra-seed-data"]
    assert (run.component, run.evidence["class"], run.evidence["workload"]) == (
        "dagster-user-code", "oom_killed", "job/dagster-run-0f1e2d3c")  # fmt: skip
    assert (seeded.component, seeded.evidence["log"], "class" in seeded.evidence) == ("iceberg", "boom\n", False)
    analysis = analyze([run, seeded], builtin_rules(), floe_topology())
    causes = {c.cause.evidence["job"]: c.rule for c in analysis.root_causes}
    assert causes == {"dagster-run-0f1e2d3c": "workload-oom-killed", "floe-infra-seed-data": "job-failed"}


async def test_a_container_waiting_on_a_missing_secret_is_left_to_the_secret(standin: Standin) -> None:
    """The kubelet's CreateContainerConfigError names the Secret: that is the missing-secret rule's cause, so the
    pod's finding carries no class of its own and folds under it."""
    env = [{"name": "DAGSTER_PG_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "pg", "key": "password"}}}]
    waiting = {"waiting": {"reason": "CreateContainerConfigError", "message": 'secret "pg" not found'}}
    owner = await standin.owner("Deployment", "floe-dagster-daemon", DAEMON)
    pending = {"phase": "Pending", "containerStatuses": [{"name": "main", "state": waiting}]}
    await standin.pod("floe-dagster-daemon-1", DAEMON, {"name": "main", "env": env}, pending, owner=owner)
    found = grouped_by_code(await investigate(standin), CODES)
    [config] = found["k8s.pod_config_error"]
    assert "class" not in config.evidence
    [cause] = analyze([config, *found["k8s.secret_missing"]], builtin_rules(), floe_topology()).root_causes
    assert (cause.rule, [s.finding.code for s in cause.symptoms]) == ("missing-secret", ["k8s.pod_config_error"])
