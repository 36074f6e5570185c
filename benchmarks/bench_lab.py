"""Lab benchmark: each experiment's default run, end to end through the sandbox, per seed.

    python benchmarks/bench_lab.py [--seeds 0 1 2] [--experiment ID ...] [--quick] [--json]

For every (experiment, seed) it records, side by side in one run:

* wall  — seconds from the call to the stored run (sandbox start included), the learner's wait;
* cpu   — CPU seconds the sandbox used (the runner, its workers and measuring children);
* crit  — CPU seconds of the busiest training worker (None for single-process experiments): on
  two idle cores a run takes about ``max(crit, cpu − Σworkers) + start-up``; on a shared machine
  ``wall`` is larger, which ``load`` (the 1-minute load average at the end) makes visible;
* reproduced — the trusted side's verdict, from the numbers.

The goal is ≤ 120 s of wall time per default run on a 2-core machine and ≤ 20 s for --quick.
Runs go to a temporary STUDYTOOL_HOME (nothing touches your progress).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--experiment", nargs="+", default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="bench-lab-")
    os.environ["STUDYTOOL_HOME"] = home
    from studytool import lab
    from studytool.store import Store

    ids = args.experiment or list(lab.EXPERIMENTS)
    rows = []
    with Store() as store:
        for exp_id in ids:
            for seed in args.seeds:
                t0 = time.monotonic()
                r = lab.run_experiment(store, exp_id, quick=args.quick, seed=seed)
                wall = time.monotonic() - t0
                env = r.environment
                workers = env.get("worker_cpu_s") or []
                row = {
                    "experiment": exp_id,
                    "seed": seed,
                    "quick": args.quick,
                    "status": r.status,
                    "wall_s": round(wall, 1),
                    "cpu_s": env.get("cpu_s"),
                    "crit_cpu_s": max(workers) if workers else None,
                    "load": env.get("load_avg"),
                    "reproduced": r.reproduced,
                    "error": r.error,
                }
                if r.status == "completed":
                    row["summary"] = _summary(exp_id, r.results)
                rows.append(row)
                if not args.json:
                    print(
                        f"{exp_id:15s} seed {seed}  {r.status:9s} wall {wall:6.1f} s  "
                        f"cpu {row['cpu_s'] or 0:6.1f} s  busiest worker {row['crit_cpu_s'] or 0:6.1f} s  "
                        f"load {row['load'] or 0:4.1f}  reproduced {r.reproduced}"
                        + (f"  ({r.error})" if r.error else ""),
                        flush=True,
                    )
                    if r.status == "completed":
                        print("    " + json.dumps(row["summary"]), flush=True)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
    return 0 if all(r["status"] == "completed" for r in rows) else 1


def _summary(exp_id: str, res: dict) -> dict:
    if exp_id == "extrapolation":
        return {v: [res["loss"][v][0], res["loss"][v][-1]] for v in res["loss"]}
    if exp_id == "layernorm":
        return {"final_loss": res["final_loss"], "grad_slope": res["grad_slope"]}
    if exp_id == "attention_cost":
        return {
            "time_slope": res["time_slope"],
            "memory_slope": res["memory_slope"],
            "linear_overtakes_naive_at": res["linear_overtakes_naive_at"],
        }
    return {"time_slope": res["time_slope"], "speedup": res["speedup"], "same": res["same_tokens"]}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
