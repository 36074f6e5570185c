"""Grader benchmark: warm and cold check time per exercise against a bare `import torch`.

    python benchmarks/bench_grader.py [--repeat 3] [--json] [--exercise ID ...]

* bare  — `python -c "import torch"` in a fresh process (the floor for any cold check)
* cold  — a fresh `studytool check ID --file <reference> --json` process (CLI + service +
  sandbox start + grade), what a learner pays at the shell
* warm  — one check through an already-running service (what the TUI and `watch` pay)
* measured — the tests-only measured exercise (tests/data/grader_extra/measure_demo): naive
  N×N vs row-tiled work at N = 1024 and 4096, each size in a fresh confined child; shows the
  extra peak RSS the zygote took with wait4 and what one measured test costs warm
* heavy import — a file that imports torch._dynamo, sympy and networkx (about what
  transformers.models.llama costs), against the import limit

Goals (issue 9): warm sinusoidal_pe and causal_mask ≤ 0.1 s, every property check warm ≤ 3 s,
cold ≤ 1.3 × bare. Cold and bare runs alternate, so that load on the machine hits both alike.

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
    order = {
        "sinusoidal_pe": 1,
        "causal_mask": 2,
        "kv_cache": 3,
        "linear_attention": 4,
        "flash_attention": 5,
        "prenorm_postnorm": 6,
        "rope": 7,
        "alibi": 8,
    }
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

    from studytool.grading import Grader

    rows = []
    extra = ROOT / "tests" / "data" / "grader_extra"
    env_service = dict(env, STUDYTOOL_GRADER_EXTRA_EXERCISES=str(extra))
    measured = {}
    with Grader(record=False, env=env_service) as g:
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
            rows.append(
                {
                    "exercise": ex,
                    "status": first["status"],
                    "tests": f"{r['passed']}/{r['total']}",
                    "warm_s": statistics.median(warm),
                    "grade_s": r["duration_s"],
                }
            )
        for name, body in MEASURED.items():
            times, figs = [], {}
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                r = g.check("measure_demo", source=body)
                times.append(time.perf_counter() - t0)
                figs = (r.get("figures") or {}).get("measured runs") or {}
            measured[name] = {
                "warm_s": statistics.median(times),
                "n": figs.get("n"),
                "extra_mib": figs.get("extra_mib"),
                "cpu_s": figs.get("cpu_s"),
            }
        src = (
            "import torch._dynamo, sympy, networkx\n"
            + (ROOT / "grader" / "references" / "sinusoidal_pe.py").read_text()
        )
        t0 = time.perf_counter()
        r = g.check("sinusoidal_pe", source=src)
        heavy = {"status": r["status"], "grade_s": time.perf_counter() - t0}
    bares = []
    for row in rows:
        ref = str(ROOT / "grader" / "references" / f"{row['exercise']}.py")
        cold, bare_here = [], []
        for _ in range(args.repeat):  # side by side: bare, then cold, under the same load
            bare_here.append(timed([py, "-c", "import torch"], env)[0])
            dt, r = timed([py, "-m", "studytool", "check", row["exercise"], "--file", ref, "--json"], env)
            cold.append(dt)
            row["cold_exit"] = r.returncode
        bares += bare_here
        row["cold_s"] = statistics.median(cold)
        row["bare_s"] = statistics.median(bare_here)
        row["cold_ratio"] = row["cold_s"] / row["bare_s"]
        row["goal_warm_s"] = 0.1 if row["exercise"] in ("sinusoidal_pe", "causal_mask") else 3.0
    bare = statistics.median(bares)
    for row in rows:
        row["warm_ratio"] = row["warm_s"] / bare
    from studytool.grader.sandbox import Limits

    report = {
        "bare_import_torch_s": bare,
        "service_start_s": service_start,
        "repeat": args.repeat,
        "exercises": rows,
        "measured": measured,
        "heavy_import": {**heavy, "import_limit_s": Limits().import_time_s},
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"bare `python -c 'import torch'`: {bare:.2f} s   (service + sandbox start, warm: "
        f"{service_start:.2f} s)"
    )
    print(
        f"{'exercise':<18} {'result':<12} {'warm s':>7} {'goal':>5} {'cold s':>7} "
        f"{'bare s':>7} {'cold/bare':>9}"
    )
    for r in rows:
        ok = "ok" if r["warm_s"] <= r["goal_warm_s"] else "OVER"
        print(
            f"{r['exercise']:<18} {r['status'] + ' ' + r['tests']:<12} {r['warm_s']:>7.3f} "
            f"{ok:>5} {r['cold_s']:>7.2f} {r['bare_s']:>7.2f} {r['cold_ratio']:>9.2f}"
        )
    print("measured runs (tests-only exercise; extra peak RSS over the baseline child, from wait4):")
    for name, m in measured.items():
        print(
            f"  {name:<8} warm {m['warm_s']:.2f} s   N={m['n']}   extra MiB={m['extra_mib']}   "
            f"cpu s={m['cpu_s']}"
        )
    print(
        f"heavy import (torch._dynamo, sympy, networkx): {heavy['status']} in "
        f"{heavy['grade_s']:.2f} s (import limit {report['heavy_import']['import_limit_s']:g} s)"
    )
    return 0


MEASURED = {
    "naive": "import torch\ndef work(n):\n    x = torch.randn(n, 64)\n    return (x @ x.T).softmax(-1) @ x\n",
    "tiled": "import torch\ndef work(n):\n    x = torch.randn(n, 64)\n    out = torch.empty(n, 64)\n"
    "    for i in range(0, n, 256):\n"
    "        out[i:i + 256] = (x[i:i + 256] @ x.T).softmax(-1) @ x\n    return out\n",
}


if __name__ == "__main__":
    sys.exit(main())
