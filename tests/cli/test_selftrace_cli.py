"""floe-agents' own trace arrives in the lab's Jaeger stand-in (started alone, as its own process) over OTLP/HTTP:
the service, the run's spans with their attributes, and the ids every JSON log line of the run carries."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support.cli import floe_agents, one_component_targets
from tests.support.processes import observability_process


def test_a_run_s_trace_arrives_in_jaeger(tmp_path: Path) -> None:
    with observability_process("jaeger", "--no-grpc") as (_, ready):
        assert ready[0] == "READY", ready
        query, otlp = ready[1], dict(word.split("=", 1) for word in ready[2:])["otlp_http"]
        targets = one_component_targets(tmp_path)
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp}
        result = floe_agents("investigate", "--target", str(targets), "--log-level", "info", "--timeout", "10", env=env)
        assert result.returncode == 2, result.stderr
        assert "traces not sent" not in result.stderr
        logs = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
        assert logs and {len(line["run_id"]) for line in logs} == {16}
        (trace_id,) = {line["trace_id"] for line in logs}
        services = httpx.get(f"{query}/api/services", timeout=10).json()["data"]
        traces = httpx.get(f"{query}/api/traces", params={"service": "floe-agents"}, timeout=10).json()["data"]
    assert "floe-agents" in services
    (trace,) = traces
    assert int(trace["traceID"], 16) == int(trace_id, 16)
    spans = {s["operationName"]: {t["key"]: t["value"] for t in s["tags"]} for s in trace["spans"]}
    assert {"investigate", "agent webapp"} <= set(spans)
    assert spans["investigate"]["run_id"] == logs[0]["run_id"]
    assert spans["investigate"]["status"] == "fail"
    assert spans["agent webapp"]["component"] == "webapp" and spans["agent webapp"]["status"] == "fail"
    probes = [name for name in spans if name.startswith("probe ")]
    assert "probe tcp" in probes and spans["probe tcp"]["status"] == "fail" and spans["probe tcp"]["code"]
    assert all(spans[p]["component"] == "webapp" and "status" in spans[p] for p in probes)
