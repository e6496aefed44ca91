"""A container's ``command``/``args`` decide what the lab's Dagster images run, as on a real node.

Pinned: Kubernetes' command/args semantics (``requested_command``); the Dagster launchers run the pod's own
command with the pod-only options translated (host, port, workspace); heal's migrate Job — the webserver's pod
template copied, ``command: ["dagster", "instance", "migrate"]`` — really migrates a real PostgreSQL and completes;
a program the image does not have fails the container with exit 127 and "executable file not found".
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from kubernetes_asyncio import client, watch

from floe_lab import launchers
from floe_lab.kubelet import ExecNotFoundError, LaunchContext, requested_command
from tests.support.kubelet import NS, container_status, eventually, read_text, running_lab
from tests.support.processes import real_postgres_running

WEB_LABELS = {"app.kubernetes.io/name": "dagster", "app.kubernetes.io/component": "dagster-webserver"}


def test_requested_command_follows_kubernetes_command_and_args() -> None:
    assert requested_command({"name": "c"}) is None
    assert requested_command({"command": ["dagster", "instance", "migrate"]}) == ["dagster", "instance", "migrate"]
    assert requested_command({"command": ["dagster"], "args": ["instance", "migrate"]}) == [
        "dagster",
        "instance",
        "migrate",
    ]
    assert requested_command({"args": ["--verbose"]}, entrypoint=["tini", "--"]) == ["tini", "--", "--verbose"]


def _ctx(tmp_path: Path, ctr: dict[str, Any], ports: dict[str, int] | None = None) -> LaunchContext:
    state = tmp_path / "state"
    (state / "pods").mkdir(parents=True, exist_ok=True)
    (state / "services.json").write_text(json.dumps({"services": {}}))
    return LaunchContext(
        pod_name="p",
        namespace=NS,
        workload="w",
        kind="Deployment",
        container=ctr,
        env={},
        ports=ports or {},
        mounts={},
        pod_dir=state / "pods" / "p",
        state_dir=state,
    )


async def test_dagster_images_run_the_pods_command_with_pod_only_options_translated(tmp_path: Path) -> None:
    ctr = {
        "name": "web",
        "image": "dagster",
        "ports": [{"name": "http", "containerPort": 80}],
        "command": ["dagster-webserver"],
        "args": ["-h", "0.0.0.0", "--port=80", "-w", "/dagster-workspace/workspace.yaml"],
    }
    ctx = _ctx(tmp_path, ctr, {"http": 41234})
    spec = await launchers.dagster_webserver(ctx)
    home = ctx.pod_dir / "dagster_home"
    assert spec.argv[0].endswith("dagster-webserver")
    assert spec.argv[1:] == ["-h", "127.0.0.1", "--port=41234", "-w", str(home / "workspace.yaml")]
    assert spec.env["DAGSTER_HOME"] == str(home) and spec.ready == []

    migrate_ctr = {**ctr, "command": ["dagster", "instance", "migrate"], "args": []}
    migrate = await launchers.dagster_webserver(_ctx(tmp_path, migrate_ctr))
    assert migrate.argv[0].endswith("dagster") and migrate.argv[1:] == ["instance", "migrate"]

    default = await launchers.dagster_webserver(_ctx(tmp_path, {"name": "web", "image": "dagster"}, {"http": 41234}))
    assert default.argv[0].endswith("dagster-webserver") and default.ready != []  # the image's own program

    with pytest.raises(ExecNotFoundError, match=r'exec: "/bin/bash": executable file not found in \$PATH'):
        await launchers.dagster_daemon(_ctx(tmp_path, {**ctr, "command": ["/bin/bash", "-c", "dagster-daemon run"]}))


def _webserver(db_port: int) -> dict[str, Any]:
    """The lab's webserver Deployment shape: instance ConfigMap mounted, password from a Secret."""
    instance = {
        "storage": {
            "postgres": {
                "should_autocreate_tables": False,
                "postgres_db": {
                    "username": "postgres",
                    "password": {"env": "DAGSTER_PG_PASSWORD"},
                    "hostname": "127.0.0.1",
                    "port": db_port,
                    "db_name": "dagster",
                },
            }
        }
    }
    ctr = {
        "name": "dagster-webserver",
        "image": "floe-lab/dagster-webserver:local",
        "ports": [{"name": "http", "containerPort": 80}],
        "env": [{"name": "DAGSTER_PG_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "pg", "key": "password"}}}],
        "volumeMounts": [{"name": "dagster-instance", "mountPath": "/opt/dagster/dagster_home"}],
    }
    template = {
        "metadata": {"labels": WEB_LABELS, "annotations": {"lab.floe.dev/launch": "dagster-webserver"}},
        "spec": {
            "containers": [ctr],
            "volumes": [{"name": "dagster-instance", "configMap": {"name": "dagster-instance"}}],
        },
    }
    return {"template": template, "instance": yaml.safe_dump(instance)}


def _migrate_job(template: dict[str, Any]) -> dict[str, Any]:
    """heal's migrate Job: the webserver's pod template, its container told to run ``dagster instance migrate``."""
    tmpl = copy.deepcopy(template)
    tmpl["metadata"]["labels"] = {"app.kubernetes.io/component": "migrate"}
    tmpl["spec"]["restartPolicy"] = "Never"
    tmpl["spec"]["containers"][0]["command"] = ["dagster", "instance", "migrate"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "dagster-webserver-instance-migrate", "namespace": NS},
        "spec": {"backoffLimit": 0, "template": tmpl},
    }


async def _finished(api: Any, name: str) -> str:
    """Watch the Job until a terminal condition is True (as ``kubectl wait`` does); its type."""
    batch: Any = client.BatchV1Api(api)
    async with watch.Watch().stream(
        batch.list_namespaced_job, NS, field_selector=f"metadata.name={name}", timeout_seconds=120
    ) as stream:
        async for event in stream:
            for cond in event["object"].status.conditions or []:
                if cond.type in ("Complete", "Failed") and cond.status == "True":
                    return str(cond.type)
    return "timeout"


@pytest.mark.lab
async def test_the_migrate_job_copied_from_the_webserver_migrates_and_completes(tmp_path: Path) -> None:
    async with (
        real_postgres_running(tmp_path / "pg") as pg,
        running_lab(tmp_path, launcher_table=launchers.launchers(), stop_grace=5.0) as lab,
    ):
        web = _webserver(pg.port)
        core: Any = client.CoreV1Api(lab.api_client)
        await core.create_namespaced_secret(NS, {"metadata": {"name": "pg"}, "stringData": {"password": pg.password}})
        await core.create_namespaced_config_map(
            NS, {"metadata": {"name": "dagster-instance"}, "data": {"dagster.yaml": web["instance"]}}
        )
        batch: Any = client.BatchV1Api(lab.api_client)
        await batch.create_namespaced_job(NS, _migrate_job(web["template"]))

        outcome = await _finished(lab.api_client, "dagster-webserver-instance-migrate")
        pod = (await lab.pods("dagster-webserver-instance-migrate-"))[0]
        log = read_text(pod["metadata"]["annotations"]["lab.floe.dev/log-file"])
        assert outcome == "Complete", log[-3000:]
        state = container_status(pod)["state"]["terminated"]
        assert (state["exitCode"], state["reason"]) == (0, "Completed")
        assert "Updating run storage" in log or "migrat" in log.lower(), log[-2000:]
        async with await psycopg.AsyncConnection.connect(pg.dsn("dagster")) as conn:
            cur = await conn.execute("SELECT version_num FROM alembic_version")
            assert (await cur.fetchone()) is not None  # the schema is stamped: a real migration ran


async def test_a_program_the_image_lacks_fails_the_container_with_127(tmp_path: Path) -> None:
    async with running_lab(tmp_path, launcher_table=launchers.launchers()) as lab:
        (lab.state / "services.json").write_text(json.dumps({"services": {}}))
        template = _webserver(9)["template"]
        template["spec"].pop("volumes")
        template["spec"]["containers"][0].pop("volumeMounts")
        template["spec"]["containers"][0].pop("env")
        job = _migrate_job(template)
        job["spec"]["template"]["spec"]["containers"][0]["command"] = ["/bin/sh", "-c", "dagster instance migrate"]
        batch: Any = client.BatchV1Api(lab.api_client)
        await batch.create_namespaced_job(NS, job)

        assert await _finished(lab.api_client, "dagster-webserver-instance-migrate") == "Failed"

        async def terminated() -> dict[str, Any] | None:
            pods = await lab.pods("dagster-webserver-instance-migrate-")
            state = container_status(pods[0]).get("state", {}) if pods else {}
            return state.get("terminated")

        state = await eventually(terminated, what="the container's end")
        assert state["exitCode"] == 127
        assert 'exec: "/bin/sh": executable file not found in $PATH' in state["message"]
