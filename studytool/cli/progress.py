"""`checklist`, `today` and `stats`: what the learner has done (words: the catalogue's ``today``,
``stats``, ``checklist`` and ``cli.checklist`` messages — the app's Today uses the same)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from studytool.checklist import checklist_status, set_done
from studytool.cli import UsageError, echo, lang_of, print_problems
from studytool.content import default_content
from studytool.i18n import Msg, plural, render, t
from studytool.stats import compute_stats
from studytool.store import Store
from studytool.textwrap_cjk import cell_width


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "checklist",
        help="the practice checklist: list, tick, untick",
        description="List the 21 practice items, or tick/untick one by id.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    for name in ("tick", "untick"):
        a = actions.add_parser(name, help=f"{name} one item")
        a.add_argument("id", help="item id, e.g. t01, p03, s05")
    p.set_defaults(func=cmd_checklist)

    p = sub.add_parser(
        "today",
        help="the day at a glance and the next things to do",
        description="Due and new counts, progress by topic, and the next steps — the app's Today section.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_today)

    p = sub.add_parser(
        "stats",
        help="progress statistics",
        description="Progress statistics: items by state, reviews per day, true "
        "retention, streak, the 30-day forecast, exercises and checklist.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_stats)


def _content() -> Any:
    content, problems = default_content()
    print_problems(problems)
    return content


def cmd_checklist(args: argparse.Namespace) -> int:
    lang = lang_of(args)
    content = _content()
    with Store() as store:
        if args.action in ("tick", "untick"):
            try:
                item = set_done(store, content, args.id, args.action == "tick")
            except KeyError as exc:
                raise UsageError(exc.args[0]) from None
            print(t(f"cli.checklist.{args.action}ed", lang, id=item.id, text=item.text))
            return 0
        status = checklist_status(store, content)
    if args.json:
        json.dump(
            [
                {
                    "id": s.item.id,
                    "group": s.item.group,
                    "text": s.item.text.to_json(),
                    "done": s.done,
                    "source": s.source,
                    "evidence": [e.render(lang) for e in s.evidence],
                    "evidence_facts": [e.to_json() for e in s.evidence],
                    "missing_facts": [e.to_json() for e in s.missing],
                }
                for s in status
            ],
            sys.stdout,
            ensure_ascii=False,
            indent=2,
        )
        print()
        return 0
    sep = "；" if lang == "zh" else "; "
    group = None
    for s in status:
        if s.item.group != group:
            group = s.item.group
            print("\n" + t(f"cli.checklist.group.{group}", lang))
        mark = "[x]" if s.done else "[ ]"
        note = ""
        if s.source == "evidence":
            note = t("cli.checklist.evidence", lang, evidence=sep.join(e.render(lang) for e in s.evidence))
        elif not s.done and s.evidence and s.missing:  # partly there: say what is still needed
            note = t("cli.checklist.missing", lang, missing=sep.join(e.render(lang) for e in s.missing))
        echo(f"  {mark} {s.item.id}  {s.item.text.get(lang)}{note}", hang=10)
    done = sum(s.done for s in status)
    print("\n" + t("cli.checklist.done", lang, done=done, total=len(status)))
    return 0


def _spark(values: list[int]) -> str:
    bars = " ▁▂▃▄▅▆▇█"
    top = max(values, default=0)
    return (
        "".join(bars[0 if not v else 1 + (len(bars) - 2) * v // top] for v in values)
        if top
        else "·" * len(values)
    )


def cmd_stats(args: argparse.Namespace) -> int:
    lang = lang_of(args)
    content = _content()
    with Store() as store:
        stats = compute_stats(store, content)
    if args.json:
        json.dump(stats, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    cards = stats["cards"]
    q = stats["queue"]
    day = stats["today"]
    passed = sum(1 for e in stats["exercises"].values() if e["passed"])
    print(t("stats.items", lang, **{k: cards[k] for k in ("total", "new", "learning", "review")}))
    echo(
        t(
            "today.counts",
            lang,
            due=cards["due"],
            learning=q["learning"],
            review=q["review"],
            new=q["new"],
            streak=plural("stats.days", stats["streak_days"]),
            reviews=plural("review.n_reviews", day["reviews"]),
        )
    )
    print(t("stats.reviews", lang, n=stats["reviews"], spark=_spark(stats["reviews_per_day_30d"])))
    print(
        t(
            "stats.today",
            lang,
            reviews=plural("review.n_reviews", day["reviews"]),
            new=day["new"],
            again=day["again"],
        )
    )
    if stats.get("retention_30d") is not None:
        print(t("stats.retention", lang, pct=f"{stats['retention_30d']:.0%}"))
    print(t("stats.forecast", lang, spark=_spark(stats["forecast_30d"])))
    print(t("stats.exercises", lang, passed=passed, total=len(stats["exercises"])))
    print(t("stats.checklist", lang, done=stats["checklist"]["done"], total=stats["checklist"]["total"]))
    return 0


def _step_json(step: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": step.kind, "item_id": step.item_id}
    if step.kind == "review":
        out.update(due=step.due, new=step.new)
    elif step.kind == "exercise":
        out["best"] = step.best
    return out


def step_msg(step: Any) -> tuple[Msg, str | None]:
    """A core NextStep as a catalogue message, and the command that does it (None: none)."""
    if step.kind == "review":
        return Msg("today.step.review", due=step.due, new=step.new), "studytool review --plain"
    if step.kind == "exercise":
        title = step.exercise.title
        if step.best is not None:
            b = step.best
            msg = Msg("today.step.fix", id=step.item_id, title=title, passed=b["passed"], total=b["total"])
            return msg, f"studytool check {step.item_id}"
        return Msg("today.step.start", id=step.item_id, title=title), f"studytool start {step.item_id}"
    if step.kind == "checklist":
        return Msg("today.step.checklist", id=step.item_id, text=step.checklist_item.text), None
    return Msg("today.step.done"), None


def _pad(label: str, width: int) -> str:
    return label + " " * max(1, width - cell_width(label))


def cmd_today(args: argparse.Namespace) -> int:
    from studytool.content import TOPIC_LABELS
    from studytool.today import today

    lang = lang_of(args)
    content = _content()
    with Store() as store:
        day = today(store, content)
    stats = day.stats
    if args.json:
        json.dump(
            {
                "due": day.due_now,
                "new_today": day.new_today,
                "counts": day.counts.to_json(),
                "streak_days": stats["streak_days"],
                "reviews_today": stats["today"]["reviews"],
                "topics": [
                    {
                        "topic": tp.topic,
                        "studied": tp.studied,
                        "total": tp.total,
                        "retention_30d": tp.retention_30d,
                    }
                    for tp in day.topics
                ],
                "exercises": {"passed": day.exercises_passed, "total": day.exercises_total},
                "checklist": {"done": day.checklist_done, "total": day.checklist_total},
                "next": [_step_json(s) for s in day.next_steps],
            },
            sys.stdout,
            ensure_ascii=False,
            indent=2,
        )
        print()
        return 0
    c = day.counts
    echo(
        t(
            "today.counts",
            lang,
            due=day.due_now,
            learning=c.learning,
            review=c.review,
            new=c.new,
            streak=plural("stats.days", stats["streak_days"]),
            reviews=plural("review.n_reviews", stats["today"]["reviews"]),
        )
    )
    for tp in day.topics:
        label = TOPIC_LABELS[tp.topic][1 if lang == "zh" else 0]
        ret = (
            "  " + t("today.retention", lang, pct=f"{tp.retention_30d:.0%}")
            if tp.retention_30d is not None
            else ""
        )
        print(f"  {_pad(label, 23)}{tp.studied:>3}/{tp.total:<3}{ret}")
    print(
        t(
            "today.progress",
            lang,
            passed=day.exercises_passed,
            total=day.exercises_total,
            done=day.checklist_done,
            items=day.checklist_total,
        )
    )
    print(t("cli.today.next", lang))
    for step in day.next_steps:
        msg, command = step_msg(step)
        text = render(msg, lang) + (t("today.command", lang, command=command) if command else "")
        echo(t("cli.today.step", lang, text=text), hang=4)
    return 0
