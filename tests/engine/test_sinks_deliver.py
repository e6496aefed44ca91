"""One report, every sink: a sink that fails is a ``sink.failed`` finding in the report the others write (the ones
written before the failure was known are written again), stdout last and once; secrets never in the reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

from floe_agents.config import load_targets
from floe_agents.config.targets import KubernetesTarget
from floe_agents.findings import Finding, Status
from floe_agents.redact import Redactor
from floe_agents.sinks.base import Rendered, SinkContext
from floe_agents.sinks.deliver import SINK_FAILED, deliver
from floe_agents.sinks.spec import parse_sink
from tests.support.net import closed_port

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def rendered(failures: Sequence[Finding] = ()) -> Rendered:
    lines = "".join(f"- {f.code}: {f.summary}\n" for f in failures)
    return Rendered("report", AT, f"# report\n{lines}", "{}", as_json=False)


async def test_a_failing_sink_is_a_finding_in_what_the_others_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    targets = load_targets(None).model_copy(
        update={"kubernetes": KubernetesTarget(mode="url", url=url, token="s3cr3t-token")}
    )
    ctx = SinkContext(targets, None, lambda _name: None)
    specs = [parse_sink(s) for s in ("stdout", f"file:{tmp_path / 'r.md'}", "configmap:floe-agents-report")]
    with anyio.fail_after(30):
        delivery = await deliver(specs, rendered(), rendered, ctx, Redactor(frozenset({"s3cr3t-token"})))
    [failure] = delivery.failures
    assert failure.code == SINK_FAILED and failure.component == "floe-agents" and failure.status is Status.WARN
    assert failure.subject == "configmap floe/floe-agents-report"
    assert failure.evidence["sink"] == "configmap" and "cannot reach the Kubernetes API" in failure.evidence["reason"]
    assert delivery.written == (str(tmp_path / "r.md"), "stdout")
    written = (tmp_path / "r.md").read_text()
    assert written.startswith("# report\n- sink.failed: the report could not be written to configmap floe/")
    assert capsys.readouterr().out == written  # stdout once, with the failure in it
    assert "s3cr3t-token" not in repr(failure)


async def test_every_sink_fine_writes_each_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ctx = SinkContext(load_targets(None), None, lambda _name: None)
    specs = [parse_sink(f"file:{tmp_path / 'a' / 'r.md'}"), parse_sink("stdout")]

    def amend(_: Sequence[Finding]) -> Rendered:
        raise AssertionError("nothing failed: nothing to amend")

    delivery = await deliver(specs, rendered(), amend, ctx, Redactor())
    assert delivery.failures == () and len(delivery.written) == 2
    assert capsys.readouterr().out == "# report\n" == (tmp_path / "a" / "r.md").read_text()
