"""probes._kube_why: the class of why a container does not run and the line quoted, from what it left behind; the
cases the stand-in tests (test_kube_workloads.py) do not need a cluster for."""

from __future__ import annotations

import pytest

from floe_agents.probes._kube_why import QUOTE_CHARS, Left, Why, classify

TB = 'Traceback (most recent call last):\n  File "/app/run.py", line 9, in <module>\n    run()\n'


@pytest.mark.parametrize(
    ("left", "why"),
    [
        (Left("InvalidImageName", 'couldn\'t parse image reference "x:": invalid reference format'),
         Why("image_pull", 'couldn\'t parse image reference "x:": invalid reference format')),
        (Left(exit_code=137, exit_reason="Error"), Why("oom_killed", "Error: exit code 137")),  # SIGKILL, as the brief
        (Left("CreateContainerConfigError", "container has runAsNonRoot and image will run as root"),
         Why("permission_denied", "container has runAsNonRoot and image will run as root")),
        (Left("RunContainerError", 'exec: "dagster-daemon": executable file not found in $PATH: unknown'),
         Why("missing_module", 'exec: "dagster-daemon": executable file not found in $PATH: unknown')),
        (Left("CreateContainerError", "failed to prepare subPath for volumeMount \"cfg\""),  # the runtime says why
         Why("config_error", 'failed to prepare subPath for volumeMount "cfg"')),
        (Left(exit_code=1, log="touch: /data/ready: Read-only file system\n"),
         Why("permission_denied", "touch: /data/ready: Read-only file system")),
        (Left(exit_code=126), Why("permission_denied", "exit code 126 (the command cannot be executed)")),
        (Left(exit_code=127), Why("missing_module", "exit code 127 (command not found)")),
        (Left(exit_code=1, log="Error: Could not find or load main class io.marquez.Main\n"),
         Why("missing_module", "Error: Could not find or load main class io.marquez.Main")),
        (Left(exit_code=2, log="usage: seed [-h] --table T\nseed: error: the following arguments are required: --t"),
         Why("bad_arguments", "seed: error: the following arguments are required: --t")),
        (Left(exit_code=1, log="pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings\n"
                               "database_url\n  Field required [type=missing]\n    For further information visit x\n"),
         Why("config_error", "pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings | "
                             "database_url | Field required [type=missing]")),
        (Left(exit_code=1, log=f"{TB}KeyError: 'DAGSTER_PG_PASSWORD'\n"),
         Why("config_error", "KeyError: 'DAGSTER_PG_PASSWORD'")),
        (Left(exit_code=1, log="\x1b[31mERROR\x1b[0m could not translate host name \"pg\" to address\n"),
         Why("dependency_unreachable", 'ERROR could not translate host name "pg" to address')),
        # The final error decides: a warning about a config file or a retry earlier does not.
        (Left(exit_code=1, log=f"INFO read /etc/app/config.yaml\nWARN connection refused, retrying\n{TB}"
                               "ZeroDivisionError: division by zero\n"),
         Why("crashed", "ZeroDivisionError: division by zero")),
        # A database refusing a grant is not a security context.
        (Left(exit_code=1, log="psycopg2.errors.InsufficientPrivilege: permission denied for table runs\n"),
         Why("crashed", "psycopg2.errors.InsufficientPrivilege: permission denied for table runs")),
        (Left(exit_code=2, log="Error: exiting\n"), Why("crashed", "Error: exiting")),  # exit 2 without a usage
        (Left(exit_code=1, message="panic: runtime error: index out of range\n\ngoroutine 1 [running]:\nmain.main()\n"),
         Why("crashed", "panic: runtime error: index out of range")),  # the termination message when no log
        (Left(exit_code=139, exit_reason="Error"), Why("crashed", "exit code 139 (segmentation fault (SIGSEGV))")),
    ],
)  # fmt: skip
def test_classify(left: Left, why: Why) -> None:
    assert classify(left) == why


@pytest.mark.parametrize(
    "message",
    ['secret "floe-dagster-postgresql-secret" not found', 'configmap "floe-instance" not found',
     "couldn't find key password in Secret floe/pg", "couldn't find key endpoint in ConfigMap floe/otel"],
)  # fmt: skip
def test_a_missing_reference_is_left_to_the_reference_checks(message: str) -> None:
    assert classify(Left("CreateContainerConfigError", message)) is None


def test_nothing_said_is_no_reason_and_a_long_line_is_cut() -> None:
    assert classify(Left()) is None
    assert classify(Left("CrashLoopBackOff")) == Why("crashed", "CrashLoopBackOff")
    long = classify(Left(exit_code=1, log="ValueError: " + "x" * 1000))
    assert long is not None and len(long.quote) == QUOTE_CHARS and long.quote.endswith("…")
