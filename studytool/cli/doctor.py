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
    p = sub.add_parser("doctor", help="check the store, the content, the schedule and the sandbox",
                       description="Exit 0 when everything is healthy, 1 when a problem is found.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_doctor)


def run_checks() -> dict[str, Any]:
    from studytool import grading, scheduler

    report: dict[str, Any] = {"data_dir": str(locations.data_dir()), "problems": []}
    problems: list[str] = report["problems"]
    content, content_problems = default_content()
    errors = [str(p) for p in content_problems if p.severity == "error"]
    problems.extend(errors)
    report["content"] = {"questions": len(content.questions), "cards": len(content.cards),
                         "exercises": len(content.exercises),
                         "skipped_decks": [str(p) for p in content_problems if p.severity == "warning"]}
    try:
        config = load_config()
        report["config"] = {"path": str(locations.config_path()), "ok": True}
    except ConfigError as exc:  # review and stats refuse to run until it is fixed
        config = Config()
        report["config"] = {"path": str(locations.config_path()), "ok": False, "error": str(exc)}
        problems.append(f"settings: {exc}")
    with Store() as store:
        integrity = store.integrity_check()
        report["store"] = {"path": str(store.path), "schema_version": store.version,
                           "expected_version": SCHEMA_VERSION, "integrity": integrity}
        if integrity != "ok":
            problems.append(f"store integrity check: {integrity}")
        schedule = scheduler.doctor_check(store, content, config=config)
        report["schedule"] = {"consistent": not schedule, "problems": schedule}
        problems.extend(schedule)
    report["sandbox"] = sandbox = grading.isolation_report()
    if not sandbox.get("ok", True):
        problems.append(f"sandbox: {sandbox.get('summary') or sandbox.get('error', 'not working')}")
    return report


def cmd_doctor(args: argparse.Namespace) -> int:
    report = run_checks()
    if args.json:
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(f"data directory: {report['data_dir']}")
        st = report["store"]
        print(f"store: {st['path']} (schema v{st['schema_version']}, integrity {st['integrity']})")
        c = report["content"]
        print(f"content: {c['questions']} questions, {c['cards']} cards, {c['exercises']} exercises")
        for line in c["skipped_decks"]:
            print(f"  skipped deck: {line}")
        print("schedule: " + ("consistent with the review log" if report["schedule"]["consistent"]
                              else "differs from the review log"))
        sandbox = report["sandbox"]
        print(f"sandbox: {sandbox.get('summary', sandbox)}")
        for problem in report["problems"]:
            print(f"PROBLEM: {problem}")
        print("ok" if not report["problems"] else f"{len(report['problems'])} problem(s)")
    return 1 if report["problems"] else 0
