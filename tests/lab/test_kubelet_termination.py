"""Termination messages as a kubelet fills them: the file at ``terminationMessagePath`` (``/dev/termination-log``
by default), or with ``FallbackToLogsOnError`` and a failed exit the last 80 lines / 2048 bytes of the log, into
``state.terminated`` and, once the container restarts, ``lastState.terminated``, with exit code and reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from floe_lab.kubelet.termination import message, tail_of_log
from tests.support.kubelet import container_status, eventually, running_lab, waiting_reason, workload


def _shell(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:1.36", "command": ["sh", "-c", script], **extra}


def _job(name: str, ctr: dict[str, Any]) -> dict[str, Any]:
    return workload("Job", name, "exec", ctr)


async def _terminated(lab: Any, prefix: str) -> dict[str, Any] | None:
    pods = await lab.pods(prefix)
    state = container_status(pods[0]).get("state", {}) if pods else {}
    return state.get("terminated")


async def test_messages_come_from_the_file_or_from_the_end_of_the_log(tmp_path: Path) -> None:
    many = "i=0; while [ $i -lt 100 ]; do echo line-$i; i=$((i+1)); done"
    wide = "i=0; while [ $i -lt 100 ]; do printf 'wide-%03d-%s\\n' $i $(printf '%040d' 0); i=$((i+1)); done"
    async with running_lab(tmp_path) as lab:
        await lab.apply(
            _job("done", _shell("done", "echo all done > /dev/termination-log")),
            _job("custom", _shell("custom", "echo bad > /tmp/why; exit 4", terminationMessagePath="/tmp/why")),
            _job("lines", _shell("lines", f"{many}; exit 1", terminationMessagePolicy="FallbackToLogsOnError")),
            _job("bytes", _shell("bytes", f"{wide}; exit 1", terminationMessagePolicy="FallbackToLogsOnError")),
            _job("quiet", _shell("quiet", f"{many}; exit 1")),  # policy File, nothing written: no message
            _job("ok", _shell("ok", f"{many}", terminationMessagePolicy="FallbackToLogsOnError")),  # exit 0: none
        )
        ended: dict[str, dict[str, Any]] = {}
        for name in ("done", "custom", "lines", "bytes", "quiet", "ok"):

            async def finished(job: str = name) -> dict[str, Any] | None:
                return await _terminated(lab, f"{job}-")

            ended[name] = await eventually(finished, within=30, what=f"{name} ended")
    outcome = {name: (e["exitCode"], e["reason"], e.get("message")) for name, e in ended.items()}
    assert outcome["done"] == (0, "Completed", "all done\n")
    assert outcome["custom"] == (4, "Error", "bad\n")
    assert ended["lines"]["message"] == "".join(f"line-{i}\n" for i in range(20, 100))  # the last 80 lines
    wide_message = ended["bytes"]["message"].encode()
    assert len(wide_message) == 2048 and wide_message.endswith(b"wide-099-" + b"0" * 40 + b"\n")  # their last 2 KiB
    assert outcome["quiet"] == (1, "Error", None) and outcome["ok"] == (0, "Completed", None)


async def test_a_restarted_container_keeps_its_last_message_in_last_state(tmp_path: Path) -> None:
    script = "echo starting; echo missing setting DB_URL > /dev/termination-log; exit 1"
    async with running_lab(tmp_path, backoff_base=5.0, backoff_max=5.0) as lab:
        await lab.apply(workload("Deployment", "app", "exec", _shell("app", script)))

        async def crash_looping() -> dict[str, Any] | None:
            pods = await lab.pods("app-")
            return pods[0] if pods and waiting_reason(pods[0]) == "CrashLoopBackOff" else None

        pod = await eventually(crash_looping, within=30, what="CrashLoopBackOff")
    last = container_status(pod)["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"], last["message"]) == (1, "Error", "missing setting DB_URL\n")


def test_the_message_rules_on_their_own(tmp_path: Path) -> None:
    log, file = tmp_path / "c.log", tmp_path / "termination-log"
    log.write_text("".join(f"{i}\n" for i in range(200)))
    file.write_bytes(b"x" * 5000)
    fallback = {"terminationMessagePolicy": "FallbackToLogsOnError"}
    assert message(fallback, file, str(log), 1) == "x" * 4096  # a file is read from its last 4 KiB
    file.write_bytes(b"")
    assert message(fallback, file, str(log), 1) == tail_of_log(str(log)) == "".join(f"{i}\n" for i in range(120, 200))
    assert message(fallback, tmp_path / "never-written", str(log), 2).startswith("120\n")  # no file: the log
    assert message({}, file, str(log), 1) == ""  # policy File: only the file counts
    assert tail_of_log(str(tmp_path / "gone.log")).startswith("Error on reading termination message from logs: ")
