"""Time to the first screen of `studytool` (the app) beside a bare Textual app, in one run.

Each sample is a fresh interpreter (as a learner starts the app), run headless, timed from just
before the process is spawned to the moment its first frame has been drawn; for studytool also
to the moment the Today screen is filled (content, store and scheduler loaded in a thread). The
samples of the three kinds are interleaved so that machine noise hits them alike.

    python benchmarks/bench_tui_start.py [--runs 7]

Prints medians and the ratios to the bare app; also checks that torch was never imported.
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

CHILD = r'''
import sys, time, json
kind = sys.argv[1]
marks = {}
if kind == "bare":
    from textual.app import App
    from textual.widgets import Footer, Static

    class Bare(App):
        def compose(self):
            yield Static("hello")
            yield Footer()
        def on_mount(self):
            self.call_after_refresh(self.first)
        def first(self):
            marks["first"] = time.time()
            self.exit()
    Bare().run(headless=True)
else:
    from studytool.tui.app import StudyApp

    class Timed(StudyApp):
        def on_mount(self):
            self.call_after_refresh(self.first)  # before the app queues its core loading
            super().on_mount()
        def first(self):
            marks.setdefault("first", time.time())
        def _core_loaded(self):
            super()._core_loaded()
            self.call_after_refresh(self.ready)
        def ready(self):
            marks["ready"] = time.time()
            self.exit()
    Timed(warm=False).run(headless=True)
marks["torch"] = "torch" in sys.modules
print(json.dumps(marks))
'''


def sample(kind: str, env: dict) -> dict:
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", CHILD, kind], capture_output=True, text=True,
                         env=env, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{out.stderr[-2000:]}")
    marks = json.loads(out.stdout.strip().splitlines()[-1])
    res = {k: (v - t0) * 1000 for k, v in marks.items() if k != "torch"}
    res["torch"] = marks["torch"]
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    env = dict(os.environ, STUDYTOOL_HOME=tempfile.mkdtemp(prefix="bench-tui-"))
    sample("studytool", env)  # warm the OS file cache and create the store once
    bare, tool = [], []
    for _ in range(args.runs):
        bare.append(sample("bare", env))
        tool.append(sample("studytool", env))
    b = statistics.median(s["first"] for s in bare)
    f = statistics.median(s["first"] for s in tool)
    r = statistics.median(s["ready"] for s in tool)
    print(f"runs: {args.runs} each, interleaved; fresh interpreter per run; median ms from spawn")
    print(f"bare Textual app, first frame : {b:7.0f} ms   (1.00×)")
    print(f"studytool, first frame        : {f:7.0f} ms   ({f / b:.2f}× bare)")
    print(f"studytool, Today filled       : {r:7.0f} ms   ({r / b:.2f}× bare)")
    print(f"torch imported by the app     : {any(s['torch'] for s in tool)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
