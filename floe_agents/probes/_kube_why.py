"""Why a container does not run, from what it left behind: its waiting reason, exit code, termination message and
the tail of its log.

"CrashLoopBackOff" says a container keeps exiting, not why, and the why decides the fix: more memory, another
user, the right image, other arguments, a config line. This module tells those reasons apart, each with the line
that says so (the quote a report shows), as pure functions of text, so every pattern is tested without a
cluster. What the kubelet itself says decides first (an image it cannot pull, an OOM kill), then the log; and of
the log only the final error is read (the last exception or error line and the detail lines after it), so a
warning printed earlier does not decide. A reference to a missing Secret or ConfigMap is not classified here:
the reference checks name it, with the key and the pods that need it.

Classes, most specific first: ``image_pull``, ``oom_killed``, ``permission_denied`` (a security context: the
user, fsGroup or read-only root filesystem the container runs with), ``missing_module`` (a module, executable or
entry point the image does not have), ``bad_arguments``, ``config_error`` (quoting the line), and when nothing
more specific is said, ``dependency_unreachable`` (it exits because something it connects to does not answer)
or ``crashed`` (with the last meaningful line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from floe_agents.text import printable

__all__ = ["CLASSES", "Left", "Why", "classify", "last_line"]

CLASSES = ("image_pull", "oom_killed", "permission_denied", "missing_module", "bad_arguments", "config_error",
           "dependency_unreachable", "crashed")  # fmt: skip
QUOTE_CHARS = 300
_IMAGE = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})
_CREATE = frozenset({"CreateContainerConfigError", "CreateContainerError", "RunContainerError", "StartError"})
_REFERENCE = re.compile(r'(?:secret|configmap) "[^"]*" not found|couldn\'t find key \S+ in (?:Secret|ConfigMap)', re.I)
# fmt: off
_PATTERNS = (  # (class, what a line saying it looks like); a line is given the first class it matches
    ("permission_denied", re.compile(
        r"permission denied(?! for (?:table|relation|schema|database|sequence|function|view|column))|\bEACCES\b"
        r"|\bEPERM\b|\bEROFS\b|read-only file system|operation not permitted|\[Errno (?:1|13|30)\]"
        r"|AccessDeniedException: /|runAsNonRoot", re.I)),
    ("missing_module", re.compile(
        r"ModuleNotFoundError|No module named|\bImportError\b|cannot import name|executable file not found"
        r"|command not found|: not found$|exec\b.*no such file or directory|can't open file"
        r"|Cannot find module|ClassNotFoundException|NoClassDefFoundError|Could not find or load main class", re.I)),
    ("bad_arguments", re.compile(
        r"unrecognized arguments|No such option|No such command|invalid choice|flag provided but not defined"
        r"|unknown (?:shorthand )?flag|Got unexpected extra argument|the following arguments are required"
        r"|Missing (?:option|argument) ['\"]", re.I)),
    ("config_error", re.compile(
        r"\byaml\b|\.ya?ml\b|\.toml\b|ScannerError|ParserError|ConstructorError|ValidationError"
        r"|validation errors? for|Invalid value|InvalidConfig|Config(?:uration)?Error|DagsterInvalidConfig"
        r"|\bconfig(?:uration)?\b.*\b(?:invalid|missing|not found|required|unknown|error|failed)\b"
        r"|\b(?:invalid|missing|unknown|bad)\b.*\bconfig(?:uration)?\b|environment variable|\b(?:is not|must be) set\b"
        r"|(?-i:KeyError: '[A-Z][A-Z0-9_]*')", re.I)),
    ("dependency_unreachable", re.compile(
        r"connection refused|could not connect|couldn'?t connect|failed to connect|unable to connect"
        r"|could not translate host name|could not resolve|failed to resolve|unknown host"
        r"|connection reset|name or service not known|nodename nor servname|temporary failure in name resolution"
        r"|no such host|UnknownHostException|getaddrinfo|no route to host|network is unreachable|timed out"
        r"|ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT|ENOTFOUND|server closed the connection", re.I)),
)
_USAGE = re.compile(r"^\s*usage:|\bTry '.*(?:-h|--help)'|Invalid value for ['\"]?-", re.I)  # with exit code 2 only
_HEADER = re.compile(r"\b\w*(?:Error|Exception)\b|\b(?:ERROR|FATAL|CRITICAL|PANIC|panic|fatal|Fatal|Caused by)\b"
                     r"|\berror:|^Error\b", )  # the start of the final error
_NOISE = re.compile(
    r'^(?:File ".*", line \d+|at [\w$.<>/]+\(.*\)|\.\.\. \d+ more|[\^~\s]+|Traceback \(most recent call last\):'
    r"|During handling of the above exception.*|The above exception was the direct cause.*"
    r"|For further information visit.*|goroutine \d+ \[.*|[-=*#_]{3,})$")
# fmt: on
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_EXIT_MEANING = {126: "the command cannot be executed", 127: "command not found", 137: "killed (SIGKILL)",
                 139: "segmentation fault (SIGSEGV)", 143: "terminated (SIGTERM)"}  # fmt: skip


@dataclass(frozen=True)
class Left:
    """What a container that does not run left behind (any of it may be missing)."""

    waiting_reason: str | None = None
    waiting_message: str | None = None
    exit_code: int | None = None
    exit_reason: str | None = None
    message: str | None = None  # the termination message (its log's end, with FallbackToLogsOnError)
    log: str | None = None  # the tail of its log (the terminated run's)


@dataclass(frozen=True)
class Why:
    """A class of :data:`CLASSES` and the line that says it."""

    cls: str
    quote: str


def _lines(text: str | None) -> list[str]:
    """``text``'s meaningful lines: colours, blank lines, stack frames and the source lines they echo dropped."""
    out: list[str] = []
    after_frame = False
    for raw in _ANSI.sub("", text or "").splitlines():
        line = printable(raw, 2000).rstrip()
        if after_frame and raw[:1].isspace():  # Python echoes the source line under each frame
            after_frame = False
            continue
        after_frame = bool(re.match(r'\s*File ".*", line \d+', raw))
        if line.strip() and not _NOISE.match(line.strip()):
            out.append(line.strip())
    return out


def _final_error(lines: list[str]) -> list[str]:
    """The last error and the detail lines after it (no error line: the last line)."""
    starts = [i for i, line in enumerate(lines) if _HEADER.search(line)]
    return lines[starts[-1] :] if starts else lines[-1:]


def _quote(lines: list[str], at: int, cls: str) -> str:
    # A config error quotes the lines after it too: where (file, line, column) and which field.
    picked = lines[at : at + 3] if cls == "config_error" else lines[at : at + 1]
    return printable(" | ".join(picked), QUOTE_CHARS)


def _by_pattern(lines: list[str]) -> Why | None:
    """The class of the first of ``lines`` (an error and its details) that says one, quoting it."""
    for at, line in enumerate(lines):
        for cls, pattern in _PATTERNS:
            if pattern.search(line):
                return Why(cls, _quote(lines, at, cls))
    return None


def last_line(text: str | None) -> str | None:
    """The last meaningful line of ``text`` (the start of its final error, when it has one)."""
    final = _final_error(_lines(text))
    return printable(final[0], QUOTE_CHARS) if final else None


def classify(left: Left) -> Why | None:
    """Why the container does not run; None when it waits on a missing Secret/ConfigMap (the reference checks
    name it) or when nothing says anything."""
    reason, code = left.waiting_reason or "", left.exit_code
    said = printable(left.waiting_message or reason, QUOTE_CHARS)
    if reason in _IMAGE:
        return Why("image_pull", said)
    if reason in _CREATE and _REFERENCE.search(left.waiting_message or ""):
        return None
    if left.exit_reason == "OOMKilled" or code == 137:  # 128 + SIGKILL: what the OOM killer sends
        return Why("oom_killed", f"{left.exit_reason or 'killed'}: exit code {code}")
    if reason in _CREATE:  # the runtime refused to create or start it: its message says why
        return _by_pattern(_lines(left.waiting_message)) or Why("config_error", said)
    lines = _lines(left.log) or _lines(left.message)
    if code == 2 and any(_USAGE.search(line) for line in lines):  # 2: the usage error exit code
        error = _final_error(lines)
        return _by_pattern(error) or Why("bad_arguments", printable(error[0], QUOTE_CHARS))
    found = _by_pattern(_final_error(lines)) if lines else None
    if found is not None:
        return found
    final = last_line(left.log) or last_line(left.message)
    if code == 127:  # the shell's "command not found"
        return Why("missing_module", final or f"exit code 127 ({_EXIT_MEANING[127]})")
    if code == 126:  # the shell's "found but cannot be executed"
        return Why("permission_denied", final or f"exit code 126 ({_EXIT_MEANING[126]})")
    text = final or _exit_text(code, left.exit_reason) or said
    return Why("crashed", text) if text else None


def _exit_text(code: int | None, reason: str | None) -> str | None:
    """``exit code 139 (segmentation fault (SIGSEGV))``, ``exit code 1 (Error)``; None without a code."""
    if code is None:
        return None
    meaning = _EXIT_MEANING.get(code) or reason
    return f"exit code {code}" + (f" ({meaning})" if meaning else "")
