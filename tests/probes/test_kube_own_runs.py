"""floe-agents does not diagnose itself: its own CronJob's runs (any registry, any tag of the floe-agents image) are
neither a Job that "has not completed" (the run that is looking) nor one that "failed" (a run that exited 2 because
the platform was failing), while a platform Job that failed beside them still is."""

from __future__ import annotations

from floe_agents.probes.kubernetes import CODES
from tests.support.kube_standin import investigate, kube_standin
from tests.support.probes import grouped_by_code

CRASHED = {"phase": "Failed", "containerStatuses": [{"name": "main", "state": {"terminated": {"exitCode": 2}}}]}
RUNNING = {"phase": "Running", "containerStatuses": [{"name": "main", "state": {"running": {}}, "ready": True}]}


async def test_the_tools_own_runs_are_not_the_platforms_jobs() -> None:
    async with kube_standin() as standin:
        for name, image, status in (
            ("floe-agents-29160", "registry.example.com/platform/floe-agents:0.1.0", CRASHED),  # an earlier run
            ("floe-agents-29190", "floe-agents@sha256:" + "0" * 64, RUNNING),  # this run, still going
            ("floe-infra-seed-data", "ghcr.io/acme/floe-seed:1.0", CRASHED),  # the platform's
        ):
            labels = {"job-name": name}
            owner = await standin.owner("Job", name, labels)
            await standin.pod(f"{name}-x", labels, {"name": "main", "image": image}, status, owner=owner, log="")
        found = grouped_by_code(await investigate(standin), CODES)
    failed = [f.evidence["job"] for f in found.get("k8s.hook_job_failed", [])]
    assert failed == ["floe-infra-seed-data"]
    assert "k8s.hook_job_incomplete" not in found
    mentioned = [f.summary for fs in found.values() for f in fs if "floe-agents-" in f.summary]
    assert mentioned == []
