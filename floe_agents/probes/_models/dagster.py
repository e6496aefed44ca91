"""What the Dagster webserver's GraphQL API answers, for the fields the dagster and dagster_runs probes read.

Values the probes only show (names, statuses, heartbeat times, error texts) stay ``JsonValue``: they go into
evidence exactly as Dagster sent them, and a field that is missing reads as it always did (``"?"``, ``""`` or
None). Objects and lists are read leniently (:mod:`.lenient`), so an odd answer is never a crash.
"""

from __future__ import annotations

from pydantic import Field, JsonValue

from floe_agents.probes._models import Model
from floe_agents.probes._models.lenient import Lenient, Objects, OrNone

__all__ = [
    "DaemonStatus",
    "EventConnection",
    "GraphQLError",
    "Instance",
    "PythonError",
    "RunsOrError",
    "Workspace",
]


class _Message(Model):
    message: JsonValue = ""


class _ErrorInfo(Model):
    message: JsonValue = None


class _Extensions(Model):
    error_info: Lenient[_ErrorInfo] = Field(_ErrorInfo(), alias="errorInfo")


class GraphQLError(Model):
    """One entry of a GraphQL answer's ``errors``; Dagster attaches the Python exception as ``errorInfo``."""

    message: JsonValue = None
    extensions: Lenient[_Extensions] = _Extensions()

    @property
    def text(self) -> str:
        """The server's own message: the exception text when there is one."""
        return str(self.extensions.error_info.message or self.message).strip()


class _Cause(Model):
    error: Lenient[PythonError] = Field(default_factory=lambda: PythonError())  # noqa: PLW0108 - defined below


class PythonError(Model):
    """Dagster's ``PythonError``: a message, the exception class, and its chain of causes."""

    typename: JsonValue = Field(None, alias="__typename")
    message: JsonValue = ""
    class_name: JsonValue = Field(None, alias="className")
    error_chain: Objects[_Cause] = Field((), alias="errorChain")

    @property
    def causes(self) -> list[JsonValue]:
        return [c.error.message for c in self.error_chain]


class _Named(Model):
    name: JsonValue = None


class _Repository(_Named):
    jobs: Objects[_Named] = ()


class _Location(PythonError):  # noqa: N818 - a location, or the PythonError of its load
    """``locationOrLoadError``: a RepositoryLocation, or the PythonError of its load."""

    repositories: Objects[_Repository] = ()


class _LocationEntry(Model):
    name: JsonValue = "?"
    load_status: JsonValue = Field(None, alias="loadStatus")
    location: Lenient[_Location] = Field(_Location(), alias="locationOrLoadError")


class Workspace(Model):
    """``workspaceOrError`` when it is a Workspace."""

    location_entries: Objects[_LocationEntry] = Field((), alias="locationEntries")


class DaemonStatus(Model):
    daemon_type: JsonValue = Field(None, alias="daemonType")
    required: JsonValue = None
    healthy: JsonValue = None
    last_heartbeat_time: JsonValue = Field(None, alias="lastHeartbeatTime")
    last_heartbeat_errors: Objects[_Message] = Field((), alias="lastHeartbeatErrors")


class _DaemonHealth(Model):
    all_daemon_statuses: JsonValue = Field(None, alias="allDaemonStatuses")


class Instance(Model):
    """``instance { daemonHealth { allDaemonStatuses } }``; the statuses are not a list when the server is odd."""

    daemon_health: Lenient[_DaemonHealth] = Field(_DaemonHealth(), alias="daemonHealth")


class _StepStat(Model):
    step_key: JsonValue = Field(None, alias="stepKey")
    status: JsonValue = None


class Run(Model):
    run_id: JsonValue = Field(None, alias="runId")
    job_name: JsonValue = Field(None, alias="jobName")
    status: JsonValue = None
    step_stats: Objects[_StepStat] = Field((), alias="stepStats")


class RunsOrError(Model):
    typename: JsonValue = Field(None, alias="__typename")
    message: JsonValue = None
    results: Objects[Run] = ()


class _Event(Model):
    typename: JsonValue = Field(None, alias="__typename")
    step_key: JsonValue = Field(None, alias="stepKey")
    message: JsonValue = ""
    error: OrNone[PythonError] = None


class EventConnection(Model):
    """``logsForRun``: the run's events (step and run failures), or why they cannot be read."""

    typename: JsonValue = Field(None, alias="__typename")
    has_more: JsonValue = Field(None, alias="hasMore")
    message: JsonValue = ""
    events: Objects[_Event] = ()


_Cause.model_rebuild()
