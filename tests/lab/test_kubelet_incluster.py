"""In-cluster programs in lab pods: kubernetes-asyncio's own ``load_incluster_config()`` in a pod process talks to
the API over TLS as the pod's ServiceAccount (RBAC decides what it may do), and a pod of the ``floe-agents`` image —
named only by image, as deploy/ names it — runs this checkout's CLI as the image would.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from floe_lab.kubelet.execimage import rewrite_paths
from floe_lab.launchers import launchers
from tests.support.incluster import incluster_lab, job_output, json_lines, python_job
from tests.support.kubelet import NS

IN_CLUSTER = """
import asyncio, json
from kubernetes_asyncio import client, config

async def main():
    config.load_incluster_config()  # the env and the files at the fixed path, nothing else
    namespace = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read()
    async with client.ApiClient() as api:
        review = await client.AuthenticationV1Api(api).create_self_subject_review(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        )
        print(json.dumps({"user": review.status.user_info.username}))
        try:
            pods = await client.CoreV1Api(api).list_namespaced_pod(namespace)
            print(json.dumps({"pods": len(pods.items)}))
        except client.ApiException as exc:
            print(json.dumps({"pods": exc.status, "why": json.loads(exc.body)["message"]}))

asyncio.run(main())
"""


def _post(kind: str, plural: str, group: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    prefix = "/api/v1" if not group else f"/apis/{group}"
    return f"{prefix}/namespaces/{NS}/{plural}", {"apiVersion": group or "v1", "kind": kind, **body}


async def test_load_incluster_config_talks_to_the_api_as_the_service_account(tmp_path: Path) -> None:
    async with incluster_lab(tmp_path, needs_tokens=True) as cluster:
        lab, rbac = cluster.lab, "rbac.authorization.k8s.io/v1"
        grants = [
            _post("ServiceAccount", "serviceaccounts", "", {"metadata": {"name": "reader"}}),
            _post(
                "Role",
                "roles",
                rbac,
                {
                    "metadata": {"name": "pod-reader"},
                    "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
                },
            ),
            _post(
                "RoleBinding",
                "rolebindings",
                rbac,
                {
                    "metadata": {"name": "reader-reads-pods"},
                    "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": NS}],
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
                },
            ),
        ]
        for path, body in grants:
            await lab.request("POST", path, body)
        await lab.apply(python_job("granted", IN_CLUSTER, serviceAccountName="reader"))
        await lab.apply(python_job("ungranted", IN_CLUSTER))
        granted = json_lines(await job_output(lab, "granted"))
        ungranted = json_lines(await job_output(lab, "ungranted"))
    assert granted["user"] == f"system:serviceaccount:{NS}:reader"
    assert granted["pods"] >= 1  # a count: the list was allowed (its own pod at least)
    assert ungranted["user"] == f"system:serviceaccount:{NS}:default"
    assert ungranted["pods"] == 403
    assert f'User "system:serviceaccount:{NS}:default" cannot list resource "pods"' in ungranted["why"]


def _agents_job(name: str, image: str, **container: Any) -> dict[str, Any]:
    spec = {"name": "floe-agents", "image": image, **container}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [spec]}}},
    }


async def test_the_floe_agents_image_runs_this_checkouts_cli(tmp_path: Path) -> None:
    async with incluster_lab(tmp_path, launcher_table=launchers()) as cluster:
        lab = cluster.lab
        await lab.apply(_agents_job("default-cmd", "floe-agents:0.1.0"))  # the image's CMD: --help
        script = "import os, sys; print(os.environ['HOME'], os.getcwd(), sys.executable)"
        python = ["/opt/floe-agents/bin/python", "-c", script]
        await lab.apply(_agents_job("own-command", "ghcr.io/floe-agents/floe-agents:latest", command=python))
        await lab.apply(_agents_job("no-such-program", "floe-agents:0.1.0", command=["/opt/floe-agents/bin/nope"]))
        uid = ["/opt/floe-agents/bin/python", "-c", "import os; print(os.getuid())"]
        as_user = {"runAsUser": 10001, "runAsNonRoot": True}  # deploy/'s CronJob: the image's numeric user
        await lab.apply(_agents_job("as-10001", "floe-agents:0.1.0", command=uid, securityContext=as_user))
        usage = await job_output(lab, "default-cmd")
        ran_as = (await job_output(lab, "as-10001")).strip()
        own = (await job_output(lab, "own-command")).split()
        await job_output(lab, "no-such-program")
        missing = (await lab.pods("no-such-program-"))[0]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert "Usage: floe-agents" in usage
    assert "investigate" in usage
    home, cwd, interpreter = own
    assert home == cwd  # the image's HOME and WORKDIR are both /tmp: the pod's own folder for it
    assert home.startswith(str(lab.state / "pods"))
    assert Path(interpreter).parent == Path(sys.executable).parent  # /opt/floe-agents/bin: this virtualenv's
    assert ran_as == "10001"  # the interpreter is reachable by the image's user, as in the image
    assert missing["exitCode"] == 127
    assert 'exec: "/opt/floe-agents/bin/nope": executable file not found in $PATH' in missing["message"]


def test_paths_are_rewritten_in_one_pass() -> None:
    """A volume's local folder under ``/tmp`` is not rewritten again when the container also mounts ``/tmp``."""
    mounts = {"/tmp": Path("/tmp/lab/pods/u/volumes/tmp"), "/etc/floe-agents": Path("/tmp/lab/pods/u/volumes/config")}
    text = "--target /etc/floe-agents/targets.yaml --out /tmp/report.json /tmpx /etc/floe-agents-old"
    assert rewrite_paths(text, mounts) == (
        "--target /tmp/lab/pods/u/volumes/config/targets.yaml --out /tmp/lab/pods/u/volumes/tmp/report.json"
        " /tmpx /etc/floe-agents-old"
    )
