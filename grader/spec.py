"""The vocabulary shared by every exercise's checks (trusted side).

A check module ``studytool.grader.checks.<exercise_id>`` defines ``TESTS``: an ordered list of
:class:`TestCase`. Each test names a *probe* — a function in ``studytool.grader.probes.<exercise_id>``
that runs inside the sandbox, next to the learner's code, and returns plain data. The trusted side
then hands that data, as a :class:`ProbeResult`, to the test's ``judge``, which returns an
:class:`Outcome`. Learner code never sees the judge, the reference or the verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from studytool.i18n.catalog import Msg

Status = Literal["pass", "fail", "error"]
Text = str | Msg  # a message: a catalogue message (both languages), or a plain string (code, numbers)

MESSAGE_CAP = 500  # characters per test message, as Exercism's runners cap them


def cap(text: Text, limit: int = MESSAGE_CAP) -> Text:
    if isinstance(text, Msg):
        return text  # capped when rendered
    text = text.rstrip()
    if len(text) <= limit:
        return text
    return text[: limit - 15].rstrip() + " … (truncated)"


@dataclass(frozen=True)
class Outcome:
    status: Status
    message: Text = ""
    figures: dict[str, Any] = field(default_factory=dict)  # numbers shown beside the verdict

    @classmethod
    def passed(cls, message: Text = "", **figures: Any) -> Outcome:
        return cls("pass", cap(message), figures)

    @classmethod
    def failed(cls, message: Text, **figures: Any) -> Outcome:
        return cls("fail", cap(message), figures)

    @classmethod
    def errored(cls, message: Text, **figures: Any) -> Outcome:
        return cls("error", cap(message), figures)


@dataclass(frozen=True)
class ProbeError:
    """What went wrong inside the sandbox while a probe ran."""

    kind: str  # "exception" | "time limit" | "memory limit" | "output limit" | "file size limit"
    #            | "process limit" | "crashed" | "forbidden call" | "no result"
    type: str = ""  # exception class name, for kind == "exception"
    message: str = ""
    traceback: str = ""  # learner frames (and the library frames below them), capped
    phase: str = ""  # "import": the learner's file did not import (reported once per grade)

    def describe(self) -> str:
        if self.kind == "exception":
            return cap(f"{self.type}: {self.message}")
        if self.message:
            return cap(f"{self.kind}: {self.message}")
        return self.kind


@dataclass(frozen=True)
class Usage:
    """What the kernel accounted for one measured child, taken by the zygote (outside the learner's
    process) with ``os.wait4``: peak resident memory (``ru_maxrss``), CPU time
    (``ru_utime + ru_stime``) and the wall time from fork to reaping, measured by the zygote."""

    peak_rss_mib: float
    cpu_s: float
    wall_s: float


@dataclass(frozen=True)
class MeasuredRun:
    """One run of a measured test: a fresh child that imported the learner's file and ran the probe
    with ``{**test.args, **args}``. ``usage`` is the kernel's account of that child."""

    args: dict[str, Any]
    data: dict[str, Any] | None
    error: ProbeError | None
    usage: Usage


@dataclass(frozen=True)
class ProbeResult:
    """Plain data back from a probe: tensors (plain torch.Tensor), numbers, strings, lists.

    For a measured test (``TestCase.runs``): ``runs`` holds one :class:`MeasuredRun` per entry,
    ``baseline`` is a trusted child that imported nothing of the learner's, ``import_only`` one that
    only imported the learner's file; ``data`` is the last run's data and ``error`` the first error.
    """

    data: dict[str, Any] | None = None
    error: ProbeError | None = None
    runs: list[MeasuredRun] | None = None
    baseline: Usage | None = None
    import_only: Usage | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


Judge = Callable[[ProbeResult], Outcome]


@dataclass(frozen=True)
class TestCase:
    name: Text  # shown to the learner; says what property is checked
    probe: str  # function name in studytool.grader.probes.<exercise_id>
    judge: Judge
    args: dict[str, Any] = field(default_factory=dict)  # JSON-able values or plain tensors
    time_limit_s: float | None = None  # overrides the default per-test wall limit
    memory_limit_mb: int | None = None  # overrides the default heap allowance (RLIMIT_DATA above
    #                                     the warm zygote) for this test
    expect_error: bool = False  # True: the judge also sees probe exceptions (e.g. "raises ValueError")
    id: str = ""  # stable, language-independent (hints key on it); required once every test has one
    runs: list[dict[str, Any]] | None = None  # measured: one fresh, confined child per entry, run
    #   with {**args, **entry}; the zygote takes each child's rusage (see ProbeResult.runs). Each
    #   run has this test's time and memory limits.
