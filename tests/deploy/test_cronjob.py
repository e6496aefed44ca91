"""The CronJob every overlay renders: scheduled safely, hardened, wired to its ServiceAccount and config.

Why each field is asserted: a diagnostic that runs twice at once doubles the load on a platform already in trouble
(and two heals would race), a run that never ends hides the next one, and a pod that can write its own filesystem
or gain privileges is a foothold in the namespace whose Secrets it may read. The Pod Security Standard "restricted"
profile is the bar: non-root, no privilege escalation, every capability dropped, RuntimeDefault seccomp.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.deploy.kustomize import OVERLAYS, ROOT, Obj, only

SINKS = ["--sink", "stdout", "--sink", "configmap:floe-agents-report"]  # the job's log and the report ConfigMap
ARGS = {
    "investigate": ["investigate", "--target", "/etc/floe-agents/targets.yaml", "--json", *SINKS],
    "heal-dry-run": ["heal", "--dry-run", "--target", "/etc/floe-agents/targets.yaml", "--json", *SINKS],
    "heal": ["heal", "--yes", "--target", "/etc/floe-agents/targets.yaml", "--json", *SINKS],
}


def _pod(cronjob: Obj) -> dict[str, Any]:
    spec: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


def _container(cronjob: Obj) -> dict[str, Any]:
    [container] = _pod(cronjob)["containers"]
    return dict(container)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_runs_never_overlap_are_bounded_and_leave_a_short_history(rendered: dict[str, list[Obj]], overlay: str) -> None:
    spec = only(rendered[overlay], "CronJob")["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["schedule"] and len(spec["schedule"].split()) == 5
    assert spec["timeZone"] == "Etc/UTC", "the schedule must not depend on the controller's local zone"
    assert 10 <= spec["startingDeadlineSeconds"] <= 600
    assert 1 <= spec["successfulJobsHistoryLimit"] <= 5
    assert 1 <= spec["failedJobsHistoryLimit"] <= 5
    job = spec["jobTemplate"]["spec"]
    minutes = int(spec["schedule"].split()[0].removeprefix("*/"))
    assert 0 < job["activeDeadlineSeconds"] < minutes * 60, "a stuck run ends before the next one is due"
    assert job["backoffLimit"] == 0
    assert _pod(only(rendered[overlay], "CronJob"))["restartPolicy"] == "Never"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_pod_meets_the_restricted_pod_security_standard(rendered: dict[str, list[Obj]], overlay: str) -> None:
    cronjob = only(rendered[overlay], "CronJob")
    pod, ctr = _pod(cronjob), _container(cronjob)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = ctr["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["runAsNonRoot"] is True
    assert sc.get("privileged", False) is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    assert {"cpu", "memory"} <= set(ctr["resources"]["requests"]) and {"cpu", "memory"} <= set(
        ctr["resources"]["limits"]
    )


def test_the_pod_runs_as_the_images_own_numeric_user(rendered: dict[str, list[Obj]]) -> None:
    """runAsNonRoot can only be proven for a numeric UID: the pod's must be the one the Dockerfile sets."""
    users = re.findall(r"^USER\s+(\d+)(?::(\d+))?\s*$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    uid, gid = users[-1]
    pod_sc = _pod(only(rendered["investigate"], "CronJob"))["securityContext"]
    assert (pod_sc["runAsUser"], pod_sc["runAsGroup"]) == (int(uid), int(gid or uid))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_read_only_root_gets_a_writable_tmp_and_home_there(rendered: dict[str, list[Obj]], overlay: str) -> None:
    cronjob = only(rendered[overlay], "CronJob")
    pod, ctr = _pod(cronjob), _container(cronjob)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in ctr["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    env = {e["name"]: e.get("value") for e in ctr["env"]}
    assert env["HOME"] == "/tmp"
    assert env["XDG_CACHE_HOME"].startswith("/tmp/")
    assert env["TMPDIR"] == "/tmp"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_credentials_come_from_secret_references_never_values(rendered: dict[str, list[Obj]], overlay: str) -> None:
    """Nothing secret is written into the manifests: every credential variable is a Secret key the kubelet
    resolves, optional so that a missing key never keeps the diagnosis from starting."""
    env = _container(only(rendered[overlay], "CronJob"))["env"]
    secret_like = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY|CLIENT_ID")
    refs = [e for e in env if secret_like.search(e["name"])]
    assert refs, "the probes' credentials reach the pod"
    for var in refs:
        assert "value" not in var, var["name"]
        ref = var["valueFrom"]["secretKeyRef"]
        assert ref["optional"] is True, var["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_pod_runs_the_cli_as_the_overlay_says_with_its_own_account(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objs = rendered[overlay]
    cronjob, account = only(objs, "CronJob"), only(objs, "ServiceAccount")
    pod, ctr = _pod(cronjob), _container(cronjob)
    assert ctr["args"] == ARGS[overlay]
    assert "command" not in ctr, "the image's entrypoint is the CLI; overriding it would bypass it"
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert account["automountServiceAccountToken"] is False, "only the floe-agents pod asks for a token"
    assert pod["automountServiceAccountToken"] is True, "in-cluster mode reads the mounted token"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_run_leaves_its_report_where_the_team_reads_it(rendered: dict[str, list[Obj]], overlay: str) -> None:
    """The job's log and the ConfigMap floe-agents-report (the last runs); the CLI validates the specs itself."""
    from floe_agents.sinks.spec import parse_sink  # noqa: PLC0415 - only this test needs the product's parser

    args = _container(only(rendered[overlay], "CronJob"))["args"]
    specs = [args[i + 1] for i, arg in enumerate(args) if arg == "--sink"]
    assert specs == ["stdout", "configmap:floe-agents-report"]
    assert [parse_sink(spec) for spec in specs]  # both parse as the CLI would
