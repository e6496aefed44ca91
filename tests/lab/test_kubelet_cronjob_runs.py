"""CronJobs on the running lab node: ``kubectl create job --from=cronjob/NAME`` runs the template now (the way to
try a CronJob without waiting for its time), and a scheduled time — on a clock the kubelet is given, an hour ahead
of the machine's so no test waits for a minute to begin — becomes a Job whose pod really runs, the CronJob's status
following it to ``lastSuccessfulTime``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from floe_lab.kubelet import EXEC_LAUNCHER, LAUNCH_ANNOTATION
from floe_lab.kubelet.cronjobs import SCHEDULED_ANNOTATION
from tests.support.incluster import incluster_lab, job_output
from tests.support.kubectl import KUBECTL, NO_KUBECTL, kubectl_cluster
from tests.support.kubelet import NS, eventually

CRONJOBS = f"/apis/batch/v1/namespaces/{NS}/cronjobs"


def _cronjob(name: str, schedule: str, script: str) -> dict[str, Any]:
    container = {"name": "run", "image": "busybox:1.36", "command": ["sh", "-c", script]}
    pod = {
        "metadata": {"labels": {"app": name}, "annotations": {LAUNCH_ANNOTATION: EXEC_LAUNCHER}},
        "spec": {"restartPolicy": "Never", "containers": [container]},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {"spec": {"backoffLimit": 0, "template": pod}},
        },
    }


async def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    assert KUBECTL is not None
    data = stdin.encode() if stdin is not None else None
    done = await anyio.run_process([KUBECTL, *args], input=data, env=env, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def _kubectl(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    code, out, err = await _run(env, *args, stdin=stdin)
    assert code == 0, f"kubectl {' '.join(args)}: {err}"
    return out


async def _protobuf_job_read(tmp_path: Path) -> bool:
    """Whether the API reads the protobuf Job body kubectl's typed client sends for ``create job``."""
    async with kubectl_cluster(tmp_path / "probe") as probe:
        code, _, err = await _run(probe.env, "create", "job", "probe", "--image=busybox", "-n", NS, "--dry-run=server")
    return not (code != 0 and "JSON only" in err)


@dataclass
class AheadClock:
    """The machine's clock, ``ahead`` later."""

    ahead: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.mark.skipif(KUBECTL is None, reason=NO_KUBECTL)
async def test_kubectl_create_job_from_a_cronjob_runs_its_template_now(tmp_path: Path) -> None:
    if not await _protobuf_job_read(tmp_path):
        pytest.skip("the API stand-in does not read a protobuf Job body yet (kubectl create job sends one)")
    async with incluster_lab(tmp_path) as cluster:
        lab = cluster.lab
        await lab.request("POST", CRONJOBS, _cronjob("nightly", "0 3 * * *", "echo ran by hand"))
        create = ("create", "job", "--from=cronjob/nightly", "nightly-manual", "-n", NS)
        assert (await _kubectl(cluster.kubectl, *create)).strip() == "job.batch/nightly-manual created"
        assert await job_output(lab, "nightly-manual") == "ran by hand\n"
        job = await lab.get(f"/apis/batch/v1/namespaces/{NS}/jobs/nightly-manual")

        async def succeeded() -> dict[str, Any] | None:
            status: dict[str, Any] = (await lab.get(f"{CRONJOBS}/nightly")).get("status") or {}
            return status if status.get("lastSuccessfulTime") else None

        status = await eventually(succeeded, within=10, what="the CronJob's lastSuccessfulTime")
        listed = await _kubectl(cluster.kubectl, "get", "cronjob", "nightly", "-n", NS)
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert "active" not in status and "lastScheduleTime" not in status  # run by hand, not by the schedule
    assert "nightly" in listed and "0 3 * * *" in listed


async def test_a_scheduled_time_becomes_a_job_whose_pod_runs(tmp_path: Path) -> None:
    clock = AheadClock()
    async with incluster_lab(tmp_path, clock=clock) as cluster:
        lab = cluster.lab
        await lab.request("POST", CRONJOBS, _cronjob("hourly", "0 * * * *", "echo scheduled run"))
        clock.ahead = timedelta(hours=1)  # the next full hour has begun

        async def made() -> list[dict[str, Any]]:
            items = (await lab.get(f"/apis/batch/v1/namespaces/{NS}/jobs"))["items"]
            return [j for j in items if j["metadata"]["name"].startswith("hourly-")]

        job = (await eventually(made, within=10, what="the scheduled Job"))[0]
        name = job["metadata"]["name"]
        scheduled = datetime.fromisoformat(job["metadata"]["annotations"][SCHEDULED_ANNOTATION].replace("Z", "+00:00"))
        assert name == f"hourly-{int(scheduled.timestamp()) // 60}"
        assert scheduled.minute == 0
        assert await job_output(lab, name) == "scheduled run\n"

        async def succeeded() -> dict[str, Any] | None:
            status: dict[str, Any] = (await lab.get(f"{CRONJOBS}/hourly")).get("status") or {}
            return status if status.get("lastSuccessfulTime") and not status.get("active") else None

        status = await eventually(succeeded, within=10, what="the CronJob's lastSuccessfulTime, nothing active")
        assert len(await made()) == 1
    assert status["lastScheduleTime"] == job["metadata"]["annotations"][SCHEDULED_ANNOTATION]


@pytest.mark.skipif(KUBECTL is None, reason=NO_KUBECTL)
async def test_a_job_rendered_from_a_cronjob_by_kubectl_runs_as_the_cronjobs(tmp_path: Path) -> None:
    """``create job --from --dry-run=client -o json`` piped to ``kubectl create -f -`` (a JSON body): the same Job."""
    async with incluster_lab(tmp_path) as cluster:
        lab = cluster.lab
        await lab.request("POST", CRONJOBS, _cronjob("nightly", "0 3 * * *", "echo ran by hand"))
        render = ("create", "job", "--from=cronjob/nightly", "by-hand", "-n", NS, "--dry-run=client", "-o", "json")
        manifest = await _kubectl(cluster.kubectl, *render)
        created = await _kubectl(cluster.kubectl, "create", "-f", "-", stdin=manifest)
        assert created.strip() == "job.batch/by-hand created"
        assert await job_output(lab, "by-hand") == "ran by hand\n"

        async def succeeded() -> dict[str, Any] | None:
            status: dict[str, Any] = (await lab.get(f"{CRONJOBS}/nightly")).get("status") or {}
            return status if status.get("lastSuccessfulTime") else None

        await eventually(succeeded, within=10, what="the CronJob's lastSuccessfulTime")
        job = await lab.get(f"/apis/batch/v1/namespaces/{NS}/jobs/by-hand")
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    assert job["metadata"]["ownerReferences"][0]["name"] == "nightly"
