"""Exercise commands: ``exercises``, ``start``, ``check``, ``watch``, ``hint``, ``solution``."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from studytool import workspace
from studytool.cli import UsageError

MARK = {"pass": "✓", "fail": "✗", "error": "!"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "exercises",
        help="list the exercises with their status",
        description="Every exercise with its status (not started, failing, passed) and best attempt.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.set_defaults(func=cmd_exercises)

    p = sub.add_parser(
        "start",
        help="copy an exercise's starter into your workspace",
        description="Copy the starter file into the workspace and print its path. "
        "Existing work is never overwritten unless --reset.",
    )
    p.add_argument("id", help="exercise id, e.g. sinusoidal_pe")
    p.add_argument(
        "--reset",
        action="store_true",
        help="replace your file with the starter (the old one is kept as .py.bak)",
    )
    p.set_defaults(func=cmd_start)

    p = sub.add_parser(
        "check",
        help="grade your solution in the sandbox",
        description="Grade the workspace file (or PATH) in the sandbox. Exit 0 when "
        "every test passes, 1 when any fails, 2 for a usage error.",
    )
    p.add_argument("id", help="exercise id")
    p.add_argument("--file", type=Path, metavar="PATH", help="grade this file instead")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser(
        "watch",
        help="regrade on every save",
        description="Grade now and again on every save of the workspace file (Ctrl-C to stop).",
    )
    p.add_argument("id", help="exercise id")
    p.add_argument("--file", type=Path, metavar="PATH", help="watch this file instead")
    p.add_argument(
        "--poll",
        action="store_true",
        help="poll for changes (when file events do not arrive, e.g. network drives)",
    )
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("hint", help="show the next hint")
    p.add_argument("id", help="exercise id")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.set_defaults(func=cmd_hint)

    p = sub.add_parser("solution", help="show the reference solution (after you pass)")
    p.add_argument("id", help="exercise id")
    p.add_argument("--force", action="store_true", help="show it even before you pass")
    p.set_defaults(func=cmd_solution)


def _meta(exercise_id: str) -> Any:
    try:
        return workspace.get(exercise_id)
    except workspace.UnknownExerciseError as exc:
        raise UsageError(str(exc)) from None


def _target(args: argparse.Namespace) -> Path:
    if args.file is not None:
        if not args.file.is_file():
            raise UsageError(f"{args.file}: no such file")
        return args.file
    path = workspace.workspace_file(args.id)
    if not path.is_file():
        raise UsageError(f"no workspace file for {args.id} yet — run: studytool start {args.id}")
    return path


def cmd_exercises(args: argparse.Namespace) -> int:
    rows = workspace.statuses()
    if args.json:
        json.dump([r.to_json(args.lang) for r in rows], sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    done = sum(r.status == "passed" for r in rows)
    print(f"Exercises — {done}/{len(rows)} passed")
    for r in rows:
        best = f"best {r.best['passed']}/{r.best['total']}" if r.best else ""
        tries = f"{r.attempts} attempt{'s' * (r.attempts != 1)}" if r.attempts else ""
        print(f"  {r.order:>2}. {r.id:<18} {r.status:<12} {best:<11} {tries:<12} {r.title.get(args.lang)}")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    _meta(args.id)
    path, copied = workspace.start(args.id, reset=args.reset)
    if not copied:
        print(f"already started (kept your work; --reset to start over): {path}", file=sys.stderr)
    print(path)
    return 0


def print_test(ev: dict, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    print(f"  {MARK.get(ev['status'], '?')} {ev['name']}", file=out)
    if ev.get("message"):  # a failure's cause, or what a passing property check measured
        for line in str(ev["message"]).splitlines():
            print(f"      {line}", file=out)
    out.flush()


def print_summary(result: dict, output: str = "", out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if output.strip():
        print("  your program printed (not part of the verdict):", file=out)
        for line in output.strip().splitlines()[:20]:
            print(f"    | {line}", file=out)
    verdict = {"pass": "PASSED", "fail": "FAILED", "error": "ERROR"}[result["status"]]
    print(
        f"{verdict} {result['exercise']}: {result['passed']}/{result['total']} tests passed "
        f"in {result['duration_s']:.2f} s",
        file=out,
    )
    # figures are data for the TUI's plots (and check --json); each test's message already says
    # in a sentence what was measured
    out.flush()


def cmd_check(args: argparse.Namespace) -> int:
    from studytool import grading

    t0 = time.monotonic()
    g = grading.Grader().start()  # the service imports torch while we look up the exercise
    try:
        _meta(args.id)
        path = _target(args)
    except UsageError:
        g.abort()
        raise
    on_test = None if args.json else print_test
    if not args.json:
        print(f"Checking {args.id} ({path})")
    output = ""
    try:
        with g:
            result = g.check(args.id, path, on_test=on_test)
            output = g.last_output
    except grading.SourceTooLarge as exc:  # checked before the file is read
        result = grading.error_result(args.id, str(exc), time.monotonic() - t0)
    except grading.GradingError as exc:
        result = grading.error_result(args.id, f"the grader failed: {exc}", time.monotonic() - t0)
    if args.json:
        json.dump(result, sys.stdout, ensure_ascii=False)
        print()
    else:
        if result["tests"] and result["tests"][0]["name"] == "grading":
            print_test(result["tests"][0])
        print_summary(result, output)
    return 0 if result["status"] == "pass" else 1


def watch_loop(
    exercise_id: str,
    path: Path,
    grader: Any,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
    poll: bool = False,
) -> int:
    """Grade ``path`` now and after every change; returns the number of grades run."""
    out = out or sys.stdout
    import watchfiles

    from studytool import grading

    runs = 0

    def grade() -> None:
        nonlocal runs
        runs += 1
        print(f"\n── {time.strftime('%H:%M:%S')} checking {exercise_id} ──", file=out)
        try:
            result = grader.check(exercise_id, path, on_test=lambda ev: print_test(ev, out))
            print_summary(result, grader.last_output, out)
            if result["status"] == "pass":
                print(
                    "All tests pass. `studytool solution "
                    f"{exercise_id}` shows the reference to compare with.",
                    file=out,
                )
        except grading.SourceTooLarge as exc:
            print(f"  ! {exc}", file=out)
        except grading.GradingError as exc:
            print(f"  ! the grader failed: {exc}", file=out)
        print(f"watching {path} — save to regrade, Ctrl-C to stop", file=out)
        out.flush()

    grade()
    target = str(path.resolve())
    for _changes in watchfiles.watch(
        str(path.resolve().parent),
        stop_event=stop,
        force_polling=poll or None,
        debounce=200,
        rust_timeout=500,
        yield_on_timeout=False,
        watch_filter=lambda _c, p: str(Path(p).resolve()) == target,
    ):
        if stop is not None and stop.is_set():
            break
        if path.exists():
            grade()
    return runs


def cmd_watch(args: argparse.Namespace) -> int:
    from studytool import grading

    _meta(args.id)
    path = _target(args)
    try:
        with grading.Grader() as g:
            watch_loop(args.id, path, g, poll=args.poll)
    except KeyboardInterrupt:
        print("\nstopped watching")
    return 0


def cmd_hint(args: argparse.Namespace) -> int:
    _meta(args.id)
    try:
        n, total, text = workspace.next_hint(args.id)
    except LookupError as exc:
        print(str(exc))
        return 0
    print(f"Hint {n}/{total} for {args.id}:")
    print(text.get(args.lang))
    if n == total:
        print("(that is the last hint; `studytool solution ID` shows the reference once you pass)")
    return 0


def cmd_solution(args: argparse.Namespace) -> int:
    _meta(args.id)
    if not args.force and not workspace.has_passed(args.id):
        print(
            f"Pass {args.id} first (studytool check {args.id}), or use --force to see the reference now.",
            file=sys.stderr,
        )
        return 1
    sys.stdout.write(workspace.solution_source(args.id))
    return 0
