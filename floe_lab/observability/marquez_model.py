"""The Marquez stand-in's metadata model: OpenLineage events in, Marquez's namespaces/jobs/datasets/runs out.

Why it exists: floe-agents decides "is lineage flowing?" from what Marquez *derives* from events — a job's
namespace appears, its runs move RUNNING -> COMPLETED, output datasets gain a version and ``lastModifiedAt``,
the job's inputs/outputs (and so the lineage graph) appear once a run ends. This module reproduces those
derivations from the raw events, validates events the way Marquez's Jackson/Bean-validation layer does, and
keeps only the raw events on disk: replaying them rebuilds the same state after a restart.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from floe_lab.observability._serving import JsonStateFile

__all__ = ["InvalidEventError", "MarquezState", "iso_now"]

Record = dict[str, Any]
Key = tuple[str, str]
_STATES = {"START": "RUNNING", "RUNNING": "RUNNING", "COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED"}
_DEFAULT_DESCRIPTION = (
    "The default global namespace for dataset, job, and run metadata not belonging to a user-specified namespace."
)


class InvalidEventError(ValueError):
    """An event Marquez refuses: ``status`` 400 (unreadable) or 422 (bean validation, ``errors`` listed)."""

    def __init__(self, status: int, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.status = status
        self.errors = errors


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def iso_now() -> str:
    return iso(datetime.now(UTC))


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise InvalidEventError(400, ["Unable to process JSON"])
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEventError(400, ["Unable to process JSON"]) from None
    if moment.tzinfo is None:  # Jackson's ZonedDateTime needs an offset
        raise InvalidEventError(400, ["Unable to process JSON"])
    return moment


def _missing(doc: Any, path: str) -> list[str]:
    """Bean-validation style ``<path> must not be null`` messages for absent ``@NotNull`` fields."""
    errors = []
    for name in path.split(","):
        head, _, tail = name.partition(".")
        value = doc.get(head) if isinstance(doc, dict) else None
        if value is None:
            errors.append(f"{name} must not be null" if not tail else f"{head} must not be null")
        elif tail:
            errors += [f"{head}.{e}" for e in _missing(value, tail)]
    return errors


def event_kind(doc: dict[str, Any]) -> str:
    schema = str(doc.get("schemaURL", ""))
    return "dataset" if schema.endswith("DatasetEvent") else "job" if schema.endswith("JobEvent") else "run"


def validate(doc: Any) -> None:
    """Raise :class:`InvalidEventError` exactly where Marquez would reject the event."""
    if doc is None:
        raise InvalidEventError(422, ["The request body must not be null"])
    if not isinstance(doc, dict):
        raise InvalidEventError(400, ["Unable to process JSON"])
    kind = event_kind(doc)
    subject = {"run": "run.runId,job.namespace,job.name", "job": "job.namespace,job.name"}
    errors = _missing(doc, "eventTime," + subject.get(kind, "dataset.namespace,dataset.name") + ",producer")
    for side in ("inputs", "outputs"):
        items = doc.get(side) or []
        if not isinstance(items, list):
            raise InvalidEventError(400, ["Unable to process JSON"])
        for i, item in enumerate(items):
            errors += [f"{side}[{i}].{e}" for e in _missing(item, "namespace,name")]
    if errors:
        raise InvalidEventError(422, list(dict.fromkeys(errors)))
    _parse_time(doc["eventTime"])
    if kind == "run":
        try:
            uuid.UUID(str(doc["run"]["runId"]))
        except ValueError:
            raise InvalidEventError(400, [f"Invalid UUID string: {doc['run']['runId']}"]) from None


class MarquezState:
    """Everything Marquez would hold in Postgres, derived from the events (which alone are persisted)."""

    def __init__(self, state: JsonStateFile | None = None) -> None:
        self._state = state
        stored = state.load() if state is not None else None
        self.created_at: str = stored["createdAt"] if stored else iso_now()
        self.namespaces: dict[str, Record] = {}
        self.datasets: dict[Key, Record] = {}
        self.jobs: dict[Key, Record] = {}
        self.runs: dict[str, Record] = {}
        self.run_job: dict[str, Key] = {}
        self.run_io: dict[str, tuple[list[Key], list[Key]]] = {}
        self.events: list[Record] = []
        self._namespace("default", self.created_at, _DEFAULT_DESCRIPTION)
        for entry in (stored or {}).get("events", []):
            self._apply(entry["event"], entry["receivedAt"])

    def record(self, doc: Any) -> None:
        """Validate, apply and (when persistent) store one event; raises :class:`InvalidEventError`."""
        validate(doc)
        self._apply(doc, iso_now())
        if self._state is not None:
            self._state.save({"version": 1, "createdAt": self.created_at, "events": self.events})

    def _namespace(self, name: str, now: str, description: str | None = None) -> None:
        if name not in self.namespaces:
            self.namespaces[name] = {
                "name": name,
                "createdAt": now,
                "updatedAt": now,
                "ownerName": "anonymous",
                "description": description,
                "isHidden": False,
            }

    def _dataset(self, doc: dict[str, Any], now: str) -> Key:
        key = (doc["namespace"], doc["name"])
        self._namespace(key[0], now)
        facets = doc.get("facets") or {}
        source = (facets.get("dataSource") or {}).get("name") or key[0]
        dataset = self.datasets.setdefault(key, {
            "id": {"namespace": key[0], "name": key[1]}, "type": "DB_TABLE", "name": key[1],
            "physicalName": key[1], "createdAt": now, "updatedAt": now, "namespace": key[0],
            "sourceName": source, "fields": [], "tags": [], "lastModifiedAt": None,
            "lastLifecycleState": None, "description": None, "currentVersion": None,
            "columnLineage": None, "facets": {}, "deleted": False,
        })  # fmt: skip
        dataset["updatedAt"] = now
        dataset["facets"].update(facets)
        schema = facets.get("schema") or {}
        if schema.get("fields"):
            dataset["fields"] = [
                {"name": f.get("name"), "type": f.get("type"), "tags": [], "description": f.get("description")}
                for f in schema["fields"]
            ]
        if (facets.get("documentation") or {}).get("description"):
            dataset["description"] = facets["documentation"]["description"]
        if (facets.get("lifecycleStateChange") or {}).get("lifecycleStateChange"):
            dataset["lastLifecycleState"] = facets["lifecycleStateChange"]["lifecycleStateChange"]
        return key

    def _job(self, doc: dict[str, Any], now: str) -> Key:
        key = (doc["namespace"], doc["name"])
        self._namespace(key[0], now)
        job = self.jobs.setdefault(key, {
            "id": {"namespace": key[0], "name": key[1]}, "type": "BATCH", "name": key[1],
            "simpleName": key[1], "parentJobName": None, "createdAt": now, "updatedAt": now,
            "namespace": key[0], "inputs": [], "outputs": [], "location": None, "description": None,
            "latestRun": None, "facets": {}, "currentVersion": None, "labels": [], "tags": [],
        })  # fmt: skip
        job["updatedAt"] = now
        facets = doc.get("facets") or {}
        job["facets"].update(facets)
        job["location"] = (facets.get("sourceCodeLocation") or {}).get("url") or job["location"]
        job["description"] = (facets.get("documentation") or {}).get("description") or job["description"]
        if (facets.get("jobType") or {}).get("processingType") == "STREAMING":
            job["type"] = "STREAM"
        return key

    def _version_job(self, key: Key, inputs: list[Key], outputs: list[Key]) -> str:
        job = self.jobs[key]
        job["inputs"] = [{"namespace": n, "name": m} for n, m in inputs]
        job["outputs"] = [{"namespace": n, "name": m} for n, m in outputs]
        seed = json.dumps([key, sorted(inputs), sorted(outputs), job["location"]])
        job["currentVersion"] = str(uuid.uuid5(uuid.NAMESPACE_URL, seed))
        return str(job["currentVersion"])

    def _apply(self, doc: dict[str, Any], now: str) -> None:
        kind = event_kind(doc)
        inputs = [self._dataset(d, now) for d in doc.get("inputs") or []]
        outputs = [self._dataset(d, now) for d in doc.get("outputs") or []]
        if kind == "dataset":
            self._dataset(doc["dataset"], now)
        elif kind == "job":
            self._version_job(self._job(doc["job"], now), inputs, outputs)
        else:
            self._apply_run(doc, now, inputs, outputs)
        self.events.append({"receivedAt": now, "event": doc})

    def _apply_run(self, doc: dict[str, Any], now: str, inputs: list[Key], outputs: list[Key]) -> None:
        key = self._job(doc["job"], now)
        run_id = str(uuid.UUID(str(doc["run"]["runId"])))
        run = self.runs.setdefault(run_id, {
            "id": run_id, "createdAt": now, "updatedAt": now, "nominalStartTime": None,
            "nominalEndTime": None, "state": "NEW", "startedAt": None, "endedAt": None, "durationMs": None,
            "args": {}, "jobVersion": None, "inputDatasetVersions": [], "outputDatasetVersions": [],
            "context": {}, "facets": {},
        })  # fmt: skip
        self.run_job[run_id] = key
        run["updatedAt"] = now
        run_facets = doc["run"].get("facets") or {}
        run["facets"].update(run_facets)
        nominal = run_facets.get("nominalTime") or {}
        run["nominalStartTime"] = nominal.get("nominalStartTime", run["nominalStartTime"])
        run["nominalEndTime"] = nominal.get("nominalEndTime", run["nominalEndTime"])
        parent = (run_facets.get("parent") or {}).get("job") or {}
        if parent.get("name"):
            self.jobs[key]["parentJobName"] = parent["name"]
        seen_in, seen_out = self.run_io.setdefault(run_id, ([], []))
        seen_in += [k for k in inputs if k not in seen_in]
        seen_out += [k for k in outputs if k not in seen_out]
        event_type = str(doc.get("eventType") or "OTHER").upper()
        at = iso(_parse_time(doc["eventTime"]))
        run["state"] = _STATES.get(event_type, run["state"])
        if event_type in ("START", "RUNNING") and run["startedAt"] is None:
            run["startedAt"] = at
        if event_type in ("COMPLETE", "FAIL", "ABORT"):
            run["endedAt"] = at
            if run["startedAt"]:
                delta = _parse_time(at) - _parse_time(run["startedAt"])
                run["durationMs"] = int(delta.total_seconds() * 1000)
            version = self._version_job(key, seen_in, seen_out)
            run["jobVersion"] = {"namespace": key[0], "name": key[1], "version": version}
            if event_type == "COMPLETE":
                for ds_key in seen_out:
                    self.datasets[ds_key]["currentVersion"] = str(uuid.uuid4())
                    self.datasets[ds_key]["lastModifiedAt"] = at
            run["inputDatasetVersions"] = self._versions(seen_in)
            run["outputDatasetVersions"] = self._versions(seen_out)
        self.jobs[key]["latestRunId"] = run_id

    def _versions(self, keys: Iterable[Key]) -> list[Record]:
        return [
            {
                "datasetVersionId": {"namespace": n, "name": m, "version": self.datasets[(n, m)]["currentVersion"]},
                "facets": {},
            }
            for n, m in keys
        ]

    def job_json(self, key: Key) -> Record:
        job = {k: v for k, v in self.jobs[key].items() if k != "latestRunId"}
        latest = self.jobs[key].get("latestRunId")
        job["latestRun"] = dict(self.runs[latest]) if latest else None
        job["latestRuns"] = [job["latestRun"]] if latest else []
        return job

    def runs_of(self, key: Key) -> list[Record]:
        runs = [self.runs[r] for r, k in self.run_job.items() if k == key]
        return sorted(runs, key=lambda r: r["createdAt"], reverse=True)
