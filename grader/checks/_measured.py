"""Helpers for judges of measured tests (``TestCase.runs``): facts taken outside the learner's
process by the zygote from each fresh child's ``wait4`` rusage (peak RSS, CPU time), and a
calibration of this machine's speed measured here, on the trusted side.

Nothing here trusts a number the learner's process computed about itself: peak memory and CPU time
come from the kernel's accounting of a child that exited; a missing or zero measurement is never
read as "fine" (it gives an error verdict).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from studytool.grader.spec import Outcome, ProbeResult


class NotMeasured(Exception):
    """The grader could not take the measurement this test rests on."""


def runs_of(res: ProbeResult, expected: int) -> list[Any]:
    """The measured runs, checked: one per requested entry, each with the kernel's usage."""
    runs = getattr(res, "runs", None)
    if not runs or len(runs) != expected:
        raise NotMeasured(f"expected {expected} measured runs, got {len(runs or [])}")
    for r in runs:
        u = getattr(r, "usage", None)
        if u is None or not (u.cpu_s > 0) or not (u.peak_rss_mib > 0):
            raise NotMeasured("a run came back without the kernel's account of its memory and CPU")
    if getattr(res, "baseline", None) is None or not (res.baseline.peak_rss_mib > 0):
        raise NotMeasured("no baseline measurement")
    return list(runs)


LIMITS = ("memory limit", "time limit", "result too large")


def limit_hit(res: ProbeResult) -> tuple[dict, Any] | None:
    """(the run's arguments, its error) for the first measured run that hit a limit, if any: the
    zygote stops a test's runs there, and the judge names what the limit means for the exercise."""
    for r in getattr(res, "runs", None) or []:
        if r.error is not None and r.error.kind in LIMITS:
            return dict(r.args), r.error
    return None


def not_measured(exc: Exception) -> Outcome:
    return Outcome.errored(
        f"the grader could not measure this property ({exc}); this is the "
        "grader's failure, not your code's — please check again"
    )


def run_error(runs: list[Any]) -> Outcome | None:
    for r in runs:
        if r.error is not None:
            return Outcome.errored(r.error.describe())
        if not isinstance(r.data, dict):
            return Outcome.errored("a measured run returned no data")
    return None


def usable_runs(res: ProbeResult, expected: int) -> tuple[list[Any], Outcome | None]:
    """(the measured runs, None) when every run was measured and returned data; else ([], the
    error verdict) — a run without the kernel's account or without data is never read as fine."""
    try:
        runs = runs_of(res, expected)
    except NotMeasured as exc:
        return [], not_measured(exc)
    bad = run_error(runs)
    return ([], bad) if bad is not None else (runs, None)


def extra_mib(run: Any, res: ProbeResult) -> float:
    """Peak resident memory of a run above the baseline child (which imported nothing of the
    learner's and ran nothing)."""
    return float(run.usage.peak_rss_mib) - float(res.baseline.peak_rss_mib)


def import_extra_mib(res: ProbeResult) -> float | None:
    """Peak memory of the child that only imported the learner's file, above the baseline."""
    imp = getattr(res, "import_only", None)
    if imp is None or res.baseline is None:
        return None
    return float(imp.peak_rss_mib) - float(res.baseline.peak_rss_mib)


_CALIBRATION: dict[Any, float] = {}


def cpu_seconds(key: Any, work: Callable[[], Any], repeat: int = 3) -> float:
    """CPU seconds ``work()`` takes here, on the trusted side, with torch on one thread as in the
    sandbox (the least of ``repeat`` tries; cached per process). A yardstick for this machine's
    speed: the verdicts compare the learner's measured cost with work of a known size."""
    if key in _CALIBRATION:
        return _CALIBRATION[key]
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        work()  # warm: first-call costs are not the yardstick
        best = float("inf")
        for _ in range(repeat):
            t0 = time.process_time()
            work()
            best = min(best, time.process_time() - t0)
    finally:
        torch.set_num_threads(threads)
    _CALIBRATION[key] = max(best, 1e-6)
    return _CALIBRATION[key]
