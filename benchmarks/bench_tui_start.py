"""Time to the first screen of `studytool` (the app) beside a bare Textual app, and the time to
quit with a warm grader, in one run.

Each sample is a fresh interpreter (as a learner starts the app), run headless, timed from just
before the process is spawned to the moment its first frame has been drawn; for studytool also
to the moment the Today screen is filled (content, store and scheduler loaded in a thread, the
numbers computed in a worker). The samples of the kinds are interleaved so that machine noise
hits them alike.

Quitting: the app loads, warms its grading service (torch imported there), then quits as ctrl+q
does; the time runs from the quit action to the moment the process has exited (the shell prompt),
beside a bare Textual app quitting the same way.

    python benchmarks/bench_tui_start.py [--runs 7] [--quit-runs 3]

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

CHILD = r"""
import sys, time, json
kind = sys.argv[1]
marks = {}
if kind == "bare_quit":
    from textual.app import App
    from textual.widgets import Footer, Static

    class BareQuit(App):
        def compose(self):
            yield Static("hello")
            yield Footer()
        def on_mount(self):
            self.set_timer(0.3, self.quit_now)
        def quit_now(self):
            with open(sys.argv[2], "w") as f:
                f.write(repr(time.time()))
            self.exit()
    BareQuit().run(headless=True)
    sys.exit(0)
if kind == "quit":
    from studytool.tui.app import StudyApp

    class QuitTimed(StudyApp):
        def _core_loaded(self):
            super()._core_loaded()
            self.run_worker(self.warm_then_quit, thread=True)
        def warm_then_quit(self):
            self.get_grader().ping()  # the service is up, torch imported there
            self.call_from_thread(self.quit_now)
        def quit_now(self):
            with open(sys.argv[2], "w") as f:
                f.write(repr(time.time()))
            self.exit()  # what ctrl+q does (App.action_quit)
    from studytool.tui.app import run_app

    run_app(QuitTimed(warm=False), headless=True)  # the way `studytool` runs it
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
        def ready(self):
            marks["ready"] = time.time()
            self.exit()
    import studytool.tui.today as today_screen

    fill = today_screen.TodayScreen.fill

    def filled(screen, day):  # Today's numbers are drawn (they are computed in a worker)
        fill(screen, day)
        screen.app.call_after_refresh(screen.app.ready)

    today_screen.TodayScreen.fill = filled
    Timed(warm=False).run(headless=True)
marks["torch"] = "torch" in sys.modules
print(json.dumps(marks))
"""


def sample(kind: str, env: dict) -> dict:
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind], capture_output=True, text=True, env=env, timeout=120
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{out.stderr[-2000:]}")
    marks = json.loads(out.stdout.strip().splitlines()[-1])
    res = {k: (v - t0) * 1000 for k, v in marks.items() if k != "torch"}
    res["torch"] = marks["torch"]
    return res


def quit_sample(kind: str, env: dict) -> float:
    """ms from the quit action to the process's exit."""
    with tempfile.NamedTemporaryFile("r", suffix=".mark", delete=False) as f:
        mark = f.name
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, kind, mark],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait for the mark, then for the exit
    while True:
        if proc.poll() is not None:
            break
        try:
            text = open(mark).read()
        except OSError:
            text = ""
        if text:
            break
        time.sleep(0.002)
    proc.wait(timeout=120)
    end = time.time()
    text = open(mark).read()
    os.unlink(mark)
    if proc.returncode != 0 or not text:
        raise SystemExit(f"{kind} failed ({proc.returncode}):\n{proc.stderr.read()[-2000:]}")
    return (end - float(text)) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--quit-runs", type=int, default=3)
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
    if args.quit_runs:
        bq, tq = [], []
        for _ in range(args.quit_runs):
            bq.append(quit_sample("bare_quit", env))
            tq.append(quit_sample("quit", env))
        qb, qt = statistics.median(bq), statistics.median(tq)
        print(f"quit → exited, bare app       : {qb:7.0f} ms   (runs: {', '.join(f'{x:.0f}' for x in bq)})")
        print(
            f"quit → exited, studytool with a warm grader: {qt:7.0f} ms   "
            f"(runs: {', '.join(f'{x:.0f}' for x in tq)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
