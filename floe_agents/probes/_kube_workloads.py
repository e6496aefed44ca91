"""Why a workload does not run: which containers to ask, their logs read within bounds, and the evidence that
says why, for every pod (a Deployment's, a StatefulSet's, a Job's, the ones Dagster starts per run).

A pod finding that says "crash-looping" sends a person to ``kubectl logs --previous`` and ``describe``; this
module does that for them: it picks the containers that do not run (waiting on an error, crash-looping, exited
non-zero, restarting), reads the tail of the right log (the terminated run's, ``previous``, for a container that
was restarted since), and turns what they left into a class and a quoted line (:mod:`._kube_why`) plus what the
fix for that class needs from the spec: the memory limit an OOM kill hit, the user and fsGroup a "Permission
denied" ran as, the image and command a missing module or bad argument belongs to. Reading is bounded like the
Job logs always were: :data:`LOG_TAIL_LINES` lines of at most :data:`MAX_LOGS` containers a run, each cut to
:data:`LOG_CHARS`; a log the API will not give is said (``log_error``), never a reason to fail.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from floe_agents.findings import Status
from floe_agents.gather import gather
from floe_agents.probes._kube_api import KubeError, call
from floe_agents.probes._kube_components import Where, comp_of, workload_of
from floe_agents.probes._kube_why import Left, classify
from floe_agents.probes._models.kube import Container, ContainerStatus, Job, Pod, Terminated
from floe_agents.probes._models.kube_pod import SecurityContext
from floe_agents.probes._verdict import Verdict
from floe_agents.redact import is_secret_key
from floe_agents.text import printable

if TYPE_CHECKING:
    from kubernetes_asyncio import client

__all__ = ["CLASS_TEXT", "JOB_CLASSES", "LogKey", "LogTail", "because", "diagnose", "diagnosis_of", "failing",
           "job_log_key", "job_obs", "last_pod", "log_keys", "not_ours", "owned_pods", "read_logs"]  # fmt: skip

RESTART_WARN = 3
LOG_TAIL_LINES = 20
MAX_LOGS = 12
LOG_CHARS = 2000
CLASS_TEXT = {"image_pull": "its image cannot be pulled", "oom_killed": "out of memory",
              "permission_denied": "permission denied", "missing_module": "a module or executable is missing",
              "bad_arguments": "bad arguments", "config_error": "configuration error",
              "dependency_unreachable": "something it connects to does not answer", "crashed": "crashed"}  # fmt: skip
# Why a Job failed, when it is one of these, is the cause (running it again cannot help); a Job that crashed or
# failed on its configuration is left to the job-failed rule, which runs it again once its cause is fixed.
JOB_CLASSES = frozenset({"image_pull", "oom_killed", "permission_denied", "missing_module", "bad_arguments"})
LogKey = tuple[str, str, bool]  # pod, container, previous (the log of the run before the last restart)
Evidence = dict[str, object]


@dataclass(frozen=True)
class LogTail:
    """The tail of one container's log, or why the API would not give it."""

    text: str | None = None
    error: str | None = None

    def evidence(self) -> Evidence:
        return {"log": self.text} if self.error is None else {"log": None, "log_error": self.error}


def _terminated(cs: ContainerStatus) -> Terminated | None:
    """The termination to explain: the current one, else the last before a restart."""
    return (cs.state.terminated if cs.state else None) or cs.last_state.terminated


def failing(pod: Pod) -> ContainerStatus | None:
    """The first container (init containers first) that exited non-zero."""
    statuses = pod.status.init_container_statuses + pod.status.container_statuses
    return next((cs for cs in statuses if (term := _terminated(cs)) is not None and term.exit_code), None)


def _log_key(pod: Pod, cs: ContainerStatus) -> LogKey | None:
    current = cs.state.terminated if cs.state else None
    if current is not None and current.exit_code:
        return pod.name, str(cs.name), False
    restarting = cs.waiting.reason == "CrashLoopBackOff" or (cs.restart_count or 0) >= RESTART_WARN
    return (pod.name, str(cs.name), True) if restarting and cs.last_state.terminated is not None else None


def last_pod(job: Job, pods: list[Pod]) -> Pod | None:
    """The newest pod ``job`` owns."""
    owned = sorted(owned_pods(job, pods), key=lambda p: str(p.metadata.creation_timestamp))
    return owned[-1] if owned else None


SELF_IMAGE = "floe-agents"  # this tool's image repository (its last path segment, any registry and tag)


def _repository(image: str | None) -> str:
    """``floe-agents`` from ``registry.example.com/platform/floe-agents:0.1.0@sha256:…``."""
    return (image or "").split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def not_ours(pods: list[Pod], jobs: list[Job]) -> tuple[list[Pod], list[Job]]:
    """The pods and Jobs that are not floe-agents' own runs. Why: the CronJob's runs are the tool, not the platform;
    a run that is still going (this one) or that ended failing because the platform was failing (exit code 2) would
    otherwise be reported as a Job that never completes or fails, by every later run."""
    ours = {p.metadata.uid for p in pods if any(_repository(c.image) == SELF_IMAGE for c in p.spec.containers)}
    return (
        [p for p in pods if p.metadata.uid not in ours],
        [j for j in jobs if not any(p.metadata.uid in ours for p in owned_pods(j, pods))],
    )


def owned_pods(job: Job, pods: list[Pod]) -> list[Pod]:
    """The pods ``job`` owns (by uid: a pod of an earlier Job of the same name is not its)."""
    return [p for p in pods if any(o.uid == job.metadata.uid for o in p.metadata.owner_references)]


def job_log_key(pod: Pod) -> LogKey:
    """The log a failed Job is shown with: its failing container's (else its first container's), as it ended."""
    cs = failing(pod)
    first = pod.spec.containers[0].name if pod.spec.containers else ""
    return pod.name, str(cs.name if cs is not None else first or ""), False


def log_keys(pods: list[Pod], failed_jobs: list[Job]) -> list[LogKey]:
    """The logs a run reads, at most :data:`MAX_LOGS`: the failed Jobs' last pods first, then every container of
    a pod that does not run (a finished Job's pods only when crash-looping: the Job's own finding covers them)."""
    keys = [job_log_key(p) for job in failed_jobs if (p := last_pod(job, pods)) is not None]
    for pod in pods:
        job_pod = any(o.kind == "Job" for o in pod.metadata.owner_references)
        for cs in pod.status.init_container_statuses + pod.status.container_statuses:
            key = _log_key(pod, cs)
            if key is not None and (not job_pod or key[2]):
                keys.append(key)
    return list(dict.fromkeys(keys))[:MAX_LOGS]


async def _read_log(core: client.CoreV1Api, namespace: str, key: LogKey) -> LogTail:
    pod, container, previous = key
    kwargs = {"container": container} if container else {}
    kwargs |= {"previous": "true"} if previous else {}
    try:
        body = await call(core.read_namespaced_pod_log, pod, namespace, tail_lines=LOG_TAIL_LINES, **kwargs)
    except KubeError as exc:
        return LogTail(error=str(exc.evidence["reason"]))
    return LogTail(body.decode("utf-8", "replace")[-LOG_CHARS:] or None)


async def read_logs(core: client.CoreV1Api, namespace: str, keys: list[LogKey]) -> dict[LogKey, LogTail]:
    """The log tail of each of ``keys``, read at once."""
    tails = await gather(functools.partial(_read_log, core, namespace, key) for key in keys)
    return dict(zip(keys, tails, strict=True))


def _command(ctr: Container | None) -> str | None:
    """What the container runs, the value after a secret-looking flag (``--password x``) masked."""
    words = [*(ctr.command or ["(entrypoint)"]), *ctr.args] if ctr else []
    shown = ["***" if i and words[i - 1].startswith("-") and is_secret_key(words[i - 1].lstrip("-").replace("-", "_"))
             else w for i, w in enumerate(words)]  # fmt: skip
    return printable(" ".join(shown), 300) if ctr and (ctr.command or ctr.args) else None


def _security(pod: Pod, ctr: Container | None) -> str:
    """The user, group, fsGroup and root filesystem the container runs with (its own settings over the pod's)."""
    own, shared = (ctr.security_context if ctr else SecurityContext()), pod.spec.security_context
    fields = (("runAsUser", "run_as_user"), ("runAsGroup", "run_as_group"), ("fsGroup", "fs_group"),
              ("runAsNonRoot", "run_as_non_root"), ("readOnlyRootFilesystem", "read_only_root_filesystem"))  # fmt: skip
    values = {wire: next((v for v in (getattr(own, attr), getattr(shared, attr)) if v is not None), None)
              for wire, attr in fields}  # fmt: skip
    return ", ".join(f"{wire}={'unset' if v is None else str(v).lower()}" for wire, v in values.items())


def diagnose(pod: Pod, cs: ContainerStatus, log: LogTail | None, empty_vars: Collection[str] = ()) -> Evidence:
    """Why the container ``cs`` of ``pod`` does not run, as evidence (empty when nothing says why, or when it
    waits on a missing Secret/ConfigMap: the reference checks say that). ``empty_vars``: its env vars an
    optional reference left unset; one its last words name is kept as ``empty_env_var``."""
    term, ctr = _terminated(cs), pod.container(cs.name)
    left = Left(cs.waiting.reason, cs.waiting.message, term.exit_code if term else None,
                term.reason if term else None, term.message if term else None, log.text if log else None)  # fmt: skip
    why = classify(left)
    if why is None:
        return {}
    kind, name = workload_of(pod)
    ev: Evidence = {"workload": f"{kind.lower()}/{name}", "workload_kind": kind, "workload_name": name,
                    "class": why.cls, "quote": why.quote, "exit_code": left.exit_code, "exit_reason": left.exit_reason,
                    "init_container": ctr in pod.spec.init_containers if ctr else False,
                    "image": ctr.image if ctr else None, **(log.evidence() if log else {})}  # fmt: skip
    if left.message and not left.log:
        ev["termination_message"] = printable(left.message[-LOG_CHARS:], LOG_CHARS)
    if why.cls == "oom_killed":
        ev["memory_limit"] = (ctr.resources.limits.get("memory") if ctr else None) or "none"
    elif why.cls == "permission_denied":
        ev["security_context"] = _security(pod, ctr)
    elif why.cls in ("missing_module", "bad_arguments"):
        ev["command"] = _command(ctr) or "the image's entrypoint"
    named = [v for v in sorted(empty_vars) if v in why.quote or v in (left.log or "")]
    return ev | ({"empty_env_var": named[0]} if named else {})


def diagnosis_of(pod: Pod, logs: Mapping[LogKey, LogTail], empty_vars: Mapping[tuple[str, str], Collection[str]],
                 cs: ContainerStatus) -> Evidence:  # fmt: skip
    """:func:`diagnose` with the container's log from ``logs`` (the one :func:`log_keys` chose for it)."""
    key = _log_key(pod, cs)
    return diagnose(pod, cs, logs.get(key) if key else None, empty_vars.get((pod.name, str(cs.name)), ()))


def because(why: Evidence) -> str:
    """``: out of memory (OOMKilled: exit code 137)``: the class and quote of a diagnosis, for a summary."""
    return f": {CLASS_TEXT[str(why['class'])]} ({why['quote']})" if why else ""


def _first_state(pod: Pod) -> object:
    """The first container's state as the API sent it (None when it has none)."""
    first = pod.status.container_statuses[0] if pod.status.container_statuses else None
    return first.state.model_dump(by_alias=True, exclude_unset=True) if first and first.state else None


def job_obs(jobs: list[Job], pods: list[Pod], logs: Mapping[LogKey, LogTail], where: Where = comp_of) -> list[Verdict]:
    """A Job that failed (with its last pod's log and, when it is one of :data:`JOB_CLASSES`, why), or that has
    neither completed nor failed."""
    out = []
    for job in jobs:
        conds = {c.type: c for c in job.status.conditions if c.status == "True"}
        if "Complete" in conds:
            continue
        owned = sorted(owned_pods(job, pods), key=lambda p: str(p.metadata.creation_timestamp))
        states = [{"pod": p.name, "phase": p.status.phase, "state": _first_state(p)} for p in owned]
        ev: Evidence = {"job": job.name, "helm_hook": job.metadata.annotations.get("helm.sh/hook"),
                        "active": job.status.active, "failed": job.status.failed, "pods": states}  # fmt: skip
        subject, comp = f"job/{job.name}", where(job)
        failed = conds.get("Failed")
        if failed is None:
            summary = f"Job {job.name} has not completed"
            out.append(Verdict(Status.WARN, "k8s.hook_job_incomplete", summary, ev, subject, comp))
            continue
        ev.update(reason=failed.reason, message=failed.message)
        found: Evidence = {}
        if owned:
            last = owned[-1]
            ev.update(logs.get(job_log_key(last), LogTail()).evidence())
            cs = failing(last)
            found = {"container": cs.name, **diagnosis_of(last, logs, {}, cs)} if cs is not None else {}
            if found.get("class") not in JOB_CLASSES:
                found = {}
        else:
            ev["log"] = None
        ev.update({k: v for k, v in found.items() if k not in ("log", "log_error")})
        summary = f"Job {job.name} failed ({failed.reason}){because(found)}"
        out.append(Verdict(Status.FAIL, "k8s.hook_job_failed", summary, ev, subject, comp))
    return out
