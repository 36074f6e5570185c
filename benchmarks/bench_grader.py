"""Grader benchmark: warm and cold check time per exercise against a bare `import torch`.

    python benchmarks/bench_grader.py [--repeat 3] [--json] [--exercise ID ...]

* bare  — `python -c "import torch"` in a fresh process (the floor for any cold check)
* cold  — a fresh `studytool check ID --file <reference> --json` process (CLI + service +
  sandbox start + grade), what a learner pays at the shell
* warm  — one check through an already-running service (what the TUI and `watch` pay)

Every exercise folder with an exercise.yaml and a reference is measured, so new exercises are
included automatically. Medians over --repeat runs; ratios are against the bare import.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def exercises() -> list[str]:
    out = []
    for meta in sorted((ROOT / "exercises").glob("*/exercise.yaml")):
        ex = meta.parent.name
        if (ROOT / "grader" / "references" / f"{ex}.py").is_file():
            out.append(ex)
    order = {"sinusoidal_pe": 1, "causal_mask": 2, "kv_cache": 3, "linear_attention": 4,
             "flash_attention": 5, "prenorm_postnorm": 6, "rope": 7, "alibi": 8}
    return sorted(out, key=lambda e: (order.get(e, 99), e))


def timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    return time.perf_counter() - t0, r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--exercise", action="append")
    args = ap.parse_args()
    exs = args.exercise or exercises()
    home = tempfile.mkdtemp(prefix="bench-grader-")
    env = dict(os.environ, STUDYTOOL_HOME=home)
    py = sys.executable

    bare = statistics.median(timed([py, "-c", "import torch"], env)[0] for _ in range(args.repeat))

    from studytool.grading import Grader

    rows = []
    with Grader(record=False, env=env) as g:
        t0 = time.perf_counter()
        g.ping()
        service_start = time.perf_counter() - t0
        for ex in exs:
            src = (ROOT / "grader" / "references" / f"{ex}.py").read_text()
            first = g.check(ex, source=src)  # warms this exercise's imports
            warm = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                r = g.check(ex, source=src)
                warm.append(time.perf_counter() - t0)
            rows.append({"exercise": ex, "status": first["status"],
                         "tests": f"{r['passed']}/{r['total']}",
                         "warm_s": statistics.median(warm),
                         "grade_s": r["duration_s"]})
    for row in rows:
        ref = str(ROOT / "grader" / "references" / f"{row['exercise']}.py")
        cold = []
        for _ in range(args.repeat):
            dt, r = timed([py, "-m", "studytool", "check", row["exercise"], "--file", ref, "--json"], env)
            cold.append(dt)
            row["cold_exit"] = r.returncode
        row["cold_s"] = statistics.median(cold)
        row["cold_ratio"] = row["cold_s"] / bare
        row["warm_ratio"] = row["warm_s"] / bare
    report = {"bare_import_torch_s": bare, "service_start_s": service_start, "repeat": args.repeat,
              "exercises": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"bare `python -c 'import torch'`: {bare:.2f} s   (service + sandbox start, warm: "
          f"{service_start:.2f} s)")
    print(f"{'exercise':<18} {'result':<12} {'warm s':>7} {'warm/bare':>9} {'cold s':>7} {'cold/bare':>9}")
    for r in rows:
        print(f"{r['exercise']:<18} {r['status'] + ' ' + r['tests']:<12} {r['warm_s']:>7.3f} "
              f"{r['warm_ratio']:>9.2f} {r['cold_s']:>7.2f} {r['cold_ratio']:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
