"""Tests-only checks: one measured test whose judge passes with the measurements as figures."""

from studytool.grader.spec import Outcome, ProbeResult, TestCase


def _judge(res: ProbeResult) -> Outcome:
    runs = res.runs or []
    figures = {
        "n": [r.args.get("n") for r in runs],
        "extra_mib": [round(r.usage.peak_rss_mib - res.baseline.peak_rss_mib, 2) for r in runs],
        "cpu_s": [round(r.usage.cpu_s, 4) for r in runs],
        "wall_s": [round(r.usage.wall_s, 4) for r in runs],
        "import_extra_mib": round(res.import_only.peak_rss_mib - res.baseline.peak_rss_mib, 2),
        "baseline_mib": round(res.baseline.peak_rss_mib, 1),
        "values": [r.data.get("value") if r.data else None for r in runs],
        "errors": [f"{r.error.kind}: {r.error.message}" if r.error else None for r in runs],
        "last_data_n": (res.data or {}).get("n"),
    }
    if res.error is not None:
        return Outcome.failed(f"{res.error.kind}: {res.error.message}", **figures)
    return Outcome.passed("measured", **figures)


TESTS = [
    TestCase("measured runs", probe="run", judge=_judge, args={"n": 0},
             runs=[{"n": 1024}, {"n": 4096}], time_limit_s=4.0, memory_limit_mb=512),
]
