"""The one small contract between the app's side and the grader's trusted service — torch-free,
dependency-free, imported by both (``studytool.grading`` and ``studytool.grader.service``).

Limits both sides enforce, the source reader both use, and the JSON-lines protocol as typed
dicts. The service is ``python -m studytool.grader.service [--hide PATH ...]``; it reads one
request per line on stdin and writes events on stdout:

requests  ``{"op": "check", "exercise", "source" | "file", "display"?, "limits"?}``,
          ``{"op": "ping"}``, ``{"op": "report"}``, ``{"op": "shutdown"}``
events    ``{"event": "test", ...TestResult}`` (one per test, in order), then
          ``{"event": "done", "result": CheckResult, "output": str}``;
          ``{"event": "pong"}``, ``{"event": "report", "report": {...}}``,
          ``{"event": "error", "message": str}``

``CheckResult`` is the ``studytool check --json`` object (a public contract: keep its keys).
"""

from __future__ import annotations

import os
from typing import Any, Literal, NotRequired, TypedDict

MAX_SOURCE = 1024 * 1024  # bytes of learner source: a larger file is refused before it is read
MAX_REQUEST_LINE = 8 * 1024 * 1024  # bytes of one request line (a 1 MiB source, JSON-escaped, fits)
MAX_LAB_LINE = 4 * 1024 * 1024  # bytes of one line from the lab's sandbox; longer is garbage

Status = Literal["pass", "fail", "error"]


class SourceTooLarge(ValueError):
    """The learner's file is larger than the grader reads (checked before reading it)."""


def read_source(file: str | os.PathLike[str]) -> str:
    """The file's text; :class:`SourceTooLarge` (before reading a byte) when it exceeds MAX_SOURCE."""
    with open(file, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > MAX_SOURCE:
            raise SourceTooLarge(
                f"{file}: the file is {size / 2**20:.1f} MiB; files larger than "
                f"{MAX_SOURCE // 2**20} MiB are not graded"
            )
        data = f.read(MAX_SOURCE + 1)
    if len(data) > MAX_SOURCE:
        raise SourceTooLarge(f"{file}: the file is larger than {MAX_SOURCE // 2**20} MiB and is not graded")
    return data.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- requests


class CheckRequest(TypedDict):
    op: Literal["check"]
    exercise: str
    source: NotRequired[str]
    file: NotRequired[str]
    display: NotRequired[str]  # the learner's path, for messages only
    limits: NotRequired[dict[str, Any]]  # sandbox.Limits overrides (tests)


class SimpleRequest(TypedDict):
    op: Literal["ping", "report", "shutdown"]


Request = CheckRequest | SimpleRequest


# --------------------------------------------------------------------------- results and events


class TestResult(TypedDict):
    name: str
    status: Status
    message: str


class CheckResult(TypedDict):
    exercise: str
    status: Status
    passed: int
    total: int
    duration_s: float
    tests: list[TestResult]
    figures: NotRequired[dict[str, Any]]


class TestEvent(TypedDict):
    event: Literal["test"]
    name: str
    status: Status
    message: str


class DoneEvent(TypedDict):
    event: Literal["done"]
    result: CheckResult
    output: str


class ErrorEvent(TypedDict):
    event: Literal["error"]
    message: str
    traceback: NotRequired[str]


def service_argv(python: str, hide: list[str] | None = None) -> list[str]:
    """The service's command line: ``hide`` names host paths the sandbox must not show (the
    learner's data directory); the caller knows them, the grader does not look them up."""
    argv = [python, "-m", "studytool.grader.service"]
    for path in hide or ():
        argv += ["--hide", path]
    return argv


def parse_service_argv(argv: list[str]) -> list[str]:
    """The ``--hide`` paths of :func:`service_argv`'s arguments (anything else is ignored)."""
    hide: list[str] = []
    it = iter(argv)
    for a in it:
        if a == "--hide":
            nxt = next(it, None)
            if nxt:
                hide.append(nxt)
    return hide
