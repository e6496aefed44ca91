"""Where floe-agents' own traces go (off unless a collector is named; the environment over platform.yaml; the
protocol by name or by the collector's gRPC port), and a collector that does not answer is one warning line."""

from __future__ import annotations

import pytest

from floe_agents.config import ConfigError, PlatformConfig
from floe_agents.selftrace import TelemetrySettings, start_telemetry, telemetry_settings
from tests.support.net import closed_port


def _platform(endpoint: str | None, *, traces: bool = True) -> PlatformConfig:
    return PlatformConfig.model_validate({"observability": {"traces": traces, "otlp_endpoint": endpoint}})


def test_off_unless_a_collector_is_named() -> None:
    assert telemetry_settings({}, None) is None
    assert telemetry_settings({}, _platform(None)) is None
    assert telemetry_settings({}, _platform("http://collector:4317", traces=False)) is None
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}
    assert telemetry_settings({**env, "OTEL_SDK_DISABLED": "true"}, None) is None
    assert telemetry_settings({**env, "OTEL_TRACES_EXPORTER": "none"}, None) is None


def test_the_environment_wins_and_the_port_or_the_protocol_variable_chooses_grpc() -> None:
    from_platform = telemetry_settings({}, _platform("http://floe-infra-jaeger-collector:4317"))
    assert from_platform == TelemetrySettings(
        "http://floe-infra-jaeger-collector:4317", "grpc", "floe-agents", "observability.otlp_endpoint"
    )
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318", "OTEL_SERVICE_NAME": "agents-prod"}
    from_env = telemetry_settings(env, _platform("http://collector:4317"))
    assert from_env == TelemetrySettings(
        "http://otel:4318", "http/protobuf", "agents-prod", "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    chosen = telemetry_settings({**env, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, None)
    assert chosen is not None and chosen.protocol == "grpc"


@pytest.mark.parametrize(
    ("env", "where"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "PROTOCOL"),
    ],
)
def test_a_value_floe_agents_cannot_use_is_a_config_error(env: dict[str, str], where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        telemetry_settings(env, None)


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_collector_that_is_not_there_is_a_warning_not_a_traceback(protocol: str) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    telemetry = start_telemetry(TelemetrySettings(url, protocol, "floe-agents", "test"), "investigate")  # type: ignore[arg-type]
    root = telemetry.start_root("investigate", {"component": "floe-agents"})
    assert len(telemetry.trace_id) == 32 and root.is_recording()
    warning = telemetry.finish(1.0)
    assert warning is not None and warning.startswith(f"traces not sent to {url} ({protocol}): ")
    assert "\n" not in warning


@pytest.mark.parametrize(
    ("host", "why"),
    [("127.0.0.1", "nothing listens on 127.0.0.1:"), ("collector.invalid", "does not resolve from here")],
)
def test_a_collector_that_cannot_be_reached_is_told_without_waiting_out_the_exporters_retries(
    host: str, why: str
) -> None:
    """A name only the cluster resolves (platform.yaml's, seen from a laptop) or a closed port: the reason, from one
    connection, instead of the exporter's "no answer" after retrying for the whole budget."""
    url = f"http://{host}:{closed_port()}"
    telemetry = start_telemetry(TelemetrySettings(url, "grpc", "floe-agents", "test"), "investigate")
    telemetry.start_root("investigate", {})
    warning = telemetry.finish(30.0)
    assert warning is not None and warning.startswith(f"traces not sent to {url} (grpc): ") and why in warning


def test_behind_a_proxy_the_export_itself_is_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    """The proxy may reach what this host cannot resolve: no verdict from a direct connection then."""
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("NO_PROXY", "")
    telemetry = start_telemetry(TelemetrySettings("http://collector.invalid:4318", "http/protobuf", "x", "t"), "i")
    telemetry.start_root("investigate", {})
    warning = telemetry.finish(1.0)
    assert warning is not None and "does not resolve" not in warning


def test_no_time_left_sends_nothing() -> None:
    telemetry = start_telemetry(TelemetrySettings("http://127.0.0.1:1", "http/protobuf", "x", "test"), "investigate")
    telemetry.start_root("investigate", {})
    assert (
        telemetry.finish(0.0)
        == "traces not sent to http://127.0.0.1:1 (http/protobuf): the run's deadline left no time"
    )
