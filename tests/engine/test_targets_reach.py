"""A URL written for one vantage, reached from this run's: platform.yaml names the collector (and the catalog, the
store) as the cluster does; a run on a laptop reaches the same endpoint through the targets file's own URL for
its vantage. Floe-agents' own traces follow it, so a laptop run sends its spans where they arrive."""

from __future__ import annotations

from floe_agents.config import PlatformConfig
from floe_agents.config.targets import Targets
from floe_agents.selftrace import TelemetrySettings, telemetry_settings

COLLECTOR = "http://floe-infra-jaeger-collector:4317"


def targets(vantage: str = "local") -> Targets:
    urls = {"local": "grpc://127.0.0.1:40317", "cluster": "grpc://floe-infra-jaeger-collector:4317"}
    web = {"local": "http://127.0.0.1:30000", "cluster": "http://floe-dagster-dagster-webserver"}  # port 80 implied
    return Targets.model_validate({
        "vantage": vantage,
        "vantages": {"local": {}, "cluster": {}},
        "components": {"jaeger": {"endpoints": {"otlp-grpc": {"urls": urls}}},
                       "dagster-webserver": {"endpoints": {"http": {"urls": web}}}},
    })  # fmt: skip


def test_a_url_is_reached_through_the_same_endpoints_url_for_this_vantage() -> None:
    assert targets().reach(COLLECTOR) == "http://127.0.0.1:40317"  # the asked scheme, this vantage's host and port
    assert targets("cluster").reach(COLLECTOR) == COLLECTOR
    assert (
        targets().reach("http://FLOE-DAGSTER-DAGSTER-WEBSERVER:80/graphql?x=1") == "http://127.0.0.1:30000/graphql?x=1"
    )


def test_no_matching_endpoint_or_no_url_is_none() -> None:
    assert targets().reach("http://floe-infra-jaeger-collector:4318") is None  # another port, another endpoint
    assert targets().reach("http://elsewhere:4317") is None
    assert targets().reach("http://floe-infra-jaeger-collector:99999") is None  # not a port


def test_own_traces_go_where_this_vantage_reaches_the_collector_platform_yaml_names() -> None:
    platform = PlatformConfig.model_validate({"observability": {"traces": True, "otlp_endpoint": COLLECTOR}})
    assert telemetry_settings({}, platform, targets()) == TelemetrySettings(
        "http://127.0.0.1:40317", "grpc", "floe-agents", "observability.otlp_endpoint"
    )
    assert telemetry_settings({}, platform, targets("cluster")) == TelemetrySettings(
        COLLECTOR, "grpc", "floe-agents", "observability.otlp_endpoint"
    )
    named = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://floe-infra-jaeger-collector:4317"}  # the user's own words win
    assert telemetry_settings(named, platform, targets()) == TelemetrySettings(
        COLLECTOR, "grpc", "floe-agents", "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
