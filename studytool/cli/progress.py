"""`checklist` and `stats`: what the learner has done."""

from __future__ import annotations

import argparse
import json
import sys

from studytool.checklist import checklist_status, set_done
from studytool.cli import UsageError
from studytool.content import default_content
from studytool.stats import compute_stats
from studytool.store import Store

GROUP_TITLES = {"theory": "Theory", "programming": "Programming", "systems": "Systems thinking"}
GROUP_TITLES_ZH = {"theory": "理论", "programming": "编程", "systems": "系统思维"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "checklist",
        help="the practice checklist: list, tick, untick",
        description="List the 21 practice items, or tick/untick one by id.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    for name in ("tick", "untick"):
        a = actions.add_parser(name, help=f"{name} one item")
        a.add_argument("id", help="item id, e.g. t01, p03, s05")
        a.add_argument("--lang", choices=["en", "zh"], default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_checklist)

    p = sub.add_parser(
        "today",
        help="the day at a glance and the next things to do",
        description="Due and new counts, progress by topic, and the next steps — the app's Today section.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.set_defaults(func=cmd_today)

    p = sub.add_parser(
        "stats",
        help="progress statistics",
        description="Progress statistics: items by state, reviews per day, true "
        "retention, streak, the 30-day forecast, exercises and checklist.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.set_defaults(func=cmd_stats)


def _content():
    content, problems = default_content()
    for problem in problems:
        print(problem, file=sys.stderr)
    return content


def cmd_checklist(args: argparse.Namespace) -> int:
    content = _content()
    with Store() as store:
        if args.action in ("tick", "untick"):
            try:
                item = set_done(store, content, args.id, args.action == "tick")
            except KeyError as exc:
                raise UsageError(exc.args[0]) from None
            if args.lang == "zh":
                print(
                    f"{'已勾选' if args.action == 'tick' else '已取消勾选'} {item.id}："
                    f"{item.text.get(args.lang)}"
                )
            else:
                print(
                    f"{'ticked' if args.action == 'tick' else 'unticked'} {item.id}: "
                    f"{item.text.get(args.lang)}"
                )
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
                    "evidence": [e.render(args.lang) for e in s.evidence],
                    "evidence_facts": [e.to_json() for e in s.evidence],
                }
                for s in status
            ],
            sys.stdout,
            ensure_ascii=False,
            indent=2,
        )
        print()
        return 0
    group = None
    for s in status:
        if s.item.group != group:
            group = s.item.group
            print(f"\n{(GROUP_TITLES_ZH if args.lang == 'zh' else GROUP_TITLES)[group]}")
        mark = "[x]" if s.done else "[ ]"
        note = (
            (
                f"  （{'；'.join(e.render('zh') for e in s.evidence)}）"
                if args.lang == "zh"
                else f"  ({'; '.join(e.render('en') for e in s.evidence)})"
            )
            if s.source == "evidence"
            else ""
        )
        print(f"  {mark} {s.item.id}  {s.item.text.get(args.lang)}{note}")
    done = sum(s.done for s in status)
    print(f"\n已完成 {done}/{len(status)}" if args.lang == "zh" else f"\n{done}/{len(status)} done")
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
    content = _content()
    with Store() as store:
        stats = compute_stats(store, content)
    if args.json:
        json.dump(stats, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    cards = stats["cards"]
    q = stats["queue"]
    spark_r, spark_f = _spark(stats["reviews_per_day_30d"]), _spark(stats["forecast_30d"])
    t = stats["today"]
    passed = sum(1 for e in stats["exercises"].values() if e["passed"])
    if args.lang == "zh":
        print(
            f"条目：{cards['total']}（新卡片 {cards['new']}，学习中 {cards['learning']}，"
            f"复习 {cards['review']}）——现在到期 {cards['due']}（学习中 {q['learning']}，"
            f"待复习 {q['review']}），今天还可学新卡片 {q['new']}"
        )
        print(f"复习：共 {stats['reviews']} 次；最近 30 天 {spark_r}（最右为今天）")
        print(f"今天：复习 {t['reviews']} 次，新卡片 {t['new']}，重来 {t['again']}")
        if stats.get("retention_30d") is not None:
            print(f"真实记忆保持率（30 天）：{stats['retention_30d']:.0%}")
        print(f"连续学习：{stats['streak_days']} 天")
        print(f"未来 30 天到期：{spark_f}（最左为今天）")
        print(f"练习：通过 {passed}/{len(stats['exercises'])}")
        print(f"清单：完成 {stats['checklist']['done']}/{stats['checklist']['total']}")
        return 0
    print(
        f"Items: {cards['total']} ({cards['new']} new, {cards['learning']} learning, "
        f"{cards['review']} review) — {cards['due']} due now ({q['learning']} learning, "
        f"{q['review']} review), {q['new']} new left today"
    )
    print(f"Reviews: {stats['reviews']} in all; last 30 days {spark_r} (today last)")
    print(f"Today: {t['reviews']} reviews, {t['new']} new, {t['again']} again")
    if stats.get("retention_30d") is not None:
        print(f"True retention (30 days): {stats['retention_30d']:.0%}")
    print(f"Streak: {stats['streak_days']} day(s)")
    print(f"Due in the next 30 days: {spark_f} (today first)")
    print(f"Exercises: {passed}/{len(stats['exercises'])} passed")
    print(f"Checklist: {stats['checklist']['done']}/{stats['checklist']['total']} done")
    return 0


def _step_json(step) -> dict:
    out = {"kind": step.kind, "item_id": step.item_id}
    if step.kind == "review":
        out.update(due=step.due, new=step.new)
    elif step.kind == "exercise":
        out["best"] = step.best
    return out


def _step_text(step, lang: str) -> str:
    zh = lang == "zh"
    if step.kind == "review":
        if zh:
            return f"复习：到期 {step.due}，新卡片 {step.new}（studytool review --plain）"
        return f"review: {step.due} due, {step.new} new  (studytool review --plain)"
    if step.kind == "exercise":
        title = step.exercise.title.get(lang)
        if step.best is not None:
            if zh:
                return (
                    f"修改练习 {step.item_id}——{title}（通过 {step.best['passed']}/"
                    f"{step.best['total']}）（studytool check {step.item_id}）"
                )
            return (
                f"fix exercise {step.item_id} — {title} ({step.best['passed']}/"
                f"{step.best['total']} passing)  (studytool check {step.item_id})"
            )
        if zh:
            return f"开始练习 {step.item_id}——{title}（studytool start {step.item_id}）"
        return f"start exercise {step.item_id} — {title}  (studytool start {step.item_id})"
    if step.kind == "checklist":
        if zh:
            return f"清单 {step.item_id}：{step.checklist_item.text.get(lang)}"
        return f"checklist {step.item_id}: {step.checklist_item.text.get(lang)}"
    return "今天的内容都完成了" if zh else "all done for today"


def cmd_today(args: argparse.Namespace) -> int:
    from studytool.content import TOPIC_LABELS
    from studytool.today import today

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
                        "topic": t.topic,
                        "studied": t.studied,
                        "total": t.total,
                        "retention_30d": t.retention_30d,
                    }
                    for t in day.topics
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
    zh = args.lang == "zh"
    if zh:
        print(
            f"现在到期 {day.due_now}（学习中 {c.learning}，待复习 {c.review}）· 今天新卡片 "
            f"{c.new} · 连续学习 {stats['streak_days']} 天 · 今天已复习 "
            f"{stats['today']['reviews']} 次"
        )
    else:
        print(
            f"Due now {day.due_now} ({c.learning} learning, {c.review} review) · new today "
            f"{c.new} · streak {stats['streak_days']} day(s) · reviewed today "
            f"{stats['today']['reviews']}"
        )
    for t in day.topics:
        label = TOPIC_LABELS[t.topic][1 if zh else 0]
        if zh:
            ret = f"  记忆保持率 {t.retention_30d:.0%}" if t.retention_30d is not None else ""
            pad = 22 - sum(1 for ch in label if ord(ch) > 0x2E80)  # a Chinese character is 2 wide
            print(f"  {label:<{pad}} {t.studied:>3}/{t.total:<3}{ret}")
        else:
            ret = f"  retention {t.retention_30d:.0%}" if t.retention_30d is not None else ""
            print(f"  {label:<22} {t.studied:>3}/{t.total:<3}{ret}")
    if zh:
        print(
            f"练习通过 {day.exercises_passed}/{day.exercises_total} · "
            f"清单完成 {day.checklist_done}/{day.checklist_total}"
        )
        print("下一步：")
    else:
        print(
            f"Exercises passed {day.exercises_passed}/{day.exercises_total} · "
            f"checklist {day.checklist_done}/{day.checklist_total}"
        )
        print("Next:")
    for step in day.next_steps:
        print(f"  - {_step_text(step, args.lang)}")
    return 0
