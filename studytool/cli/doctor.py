"""`doctor`: is everything healthy? The store, the content, the schedule, the sandbox."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from studytool import locations
from studytool.config import Config, ConfigError, load_config
from studytool.content import default_content
from studytool.store import SCHEMA_VERSION, Store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the store, the content, the schedule and the sandbox",
        description="Check the store, the content, the schedule and the sandbox, "
        "and say what to do about each problem. Exit 0 when everything is "
        "healthy, 1 when a problem is found.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--fix",
        action="store_true",
        help="rebuild the stored schedule from the review log (the log is kept), then check again",
    )
    p.set_defaults(func=cmd_doctor)


FIX_SCHEDULE = (
    "run `studytool doctor --fix`: it rebuilds the stored schedule from the review "
    "log (your reviews are kept; only the schedule computed from them is rewritten)"
)


def advice_for(problem: str, report: dict[str, Any]) -> str:
    """What to do about one problem ``run_checks`` found."""
    if problem in report.get("schedule", {}).get("problems", ()):
        return FIX_SCHEDULE
    if problem.startswith("settings:"):
        return (
            f"fix the value named in {report['config']['path']} at the line given, or delete "
            "the line to use the default (every setting is optional); review, today and "
            "stats refuse to run until then"
        )
    if problem.startswith("store integrity check:"):
        path = report.get("store", {}).get("path", "the store")
        return (
            f"the progress store is damaged: close the app, copy {path} somewhere safe, "
            f"then recover it with `sqlite3 {path} .recover | sqlite3 recovered.sqlite3` and "
            "put recovered.sqlite3 in its place"
        )
    if problem.startswith("sandbox:"):
        return (
            "exercises cannot be checked safely until the sandbox works: install bubblewrap "
            "(`apt install bubblewrap`) or allow unprivileged user namespaces; "
            '`studytool doctor --json` shows the details under "sandbox"'
        )
    return (
        "fix the content file at the place named (file:line), then run "
        "`studytool validate` until it reports no problem"
    )


def run_checks() -> dict[str, Any]:
    from studytool import grading, scheduler

    report: dict[str, Any] = {"data_dir": str(locations.data_dir()), "problems": []}
    problems: list[str] = report["problems"]
    content, content_problems = default_content()
    errors = [str(p) for p in content_problems if p.severity == "error"]
    problems.extend(errors)
    report["content"] = {
        "questions": len(content.questions),
        "cards": len(content.cards),
        "exercises": len(content.exercises),
        "skipped_decks": [str(p) for p in content_problems if p.severity == "warning"],
    }
    try:
        config = load_config()
        report["config"] = {"path": str(locations.config_path()), "ok": True}
    except ConfigError as exc:  # review and stats refuse to run until it is fixed
        config = Config()
        report["config"] = {"path": str(locations.config_path()), "ok": False, "error": str(exc)}
        problems.append(f"settings: {exc}")
    with Store() as store:
        integrity = store.integrity_check()
        report["store"] = {
            "path": str(store.path),
            "schema_version": store.version,
            "expected_version": SCHEMA_VERSION,
            "integrity": integrity,
        }
        if integrity != "ok":
            problems.append(f"store integrity check: {integrity}")
        schedule = scheduler.doctor_check(store, content, config=config)
        report["schedule"] = {"consistent": not schedule, "problems": schedule}
        problems.extend(schedule)
    report["sandbox"] = sandbox = grading.isolation_report()
    if not sandbox.get("ok", True):
        problems.append(f"sandbox: {sandbox.get('summary') or sandbox.get('error', 'not working')}")
    report["advice"] = [advice_for(p, report) for p in problems]
    return report


def fix_schedule() -> tuple[int, str | None]:
    """``doctor --fix``: (items rebuilt, None) or (0, why it could not run)."""
    from studytool import scheduler

    try:
        config = load_config()
    except ConfigError as exc:
        return 0, f"settings: {exc} (fix the settings first: the schedule depends on them)"
    with Store() as store:
        return scheduler.repair_schedule(store, config=config), None


def cmd_doctor(args: argparse.Namespace) -> int:
    fixed = None
    if args.fix:
        n, why = fix_schedule()
        fixed = {"rebuilt_items": n, "error": why}
    report = run_checks()
    if fixed is not None:
        report["fix"] = fixed
    if args.json:
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        if fixed is not None:
            print(
                f"fix: could not run: {fixed['error']}"
                if fixed["error"]
                else f"fix: rebuilt the schedule of {fixed['rebuilt_items']} item(s) from the review log"
            )
        print(f"data directory: {report['data_dir']}")
        st = report["store"]
        print(f"store: {st['path']} (schema v{st['schema_version']}, integrity {st['integrity']})")
        c = report["content"]
        print(f"content: {c['questions']} questions, {c['cards']} cards, {c['exercises']} exercises")
        for line in c["skipped_decks"]:
            print(f"  skipped deck: {line}")
        print(
            "schedule: "
            + (
                "consistent with the review log"
                if report["schedule"]["consistent"]
                else "differs from the review log"
            )
        )
        sandbox = report["sandbox"]
        print(f"sandbox: {sandbox.get('summary', sandbox)}")
        for problem, advice in zip(report["problems"], report["advice"]):
            print(f"PROBLEM: {problem}")
            print(f"  what to do: {advice}")
        print("ok" if not report["problems"] else f"{len(report['problems'])} problem(s)")
    return 1 if report["problems"] else 0
