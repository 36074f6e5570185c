"""`config` (the settings, with their meaning) and `cards` (the card browser)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from typing import Any

from studytool import locations
from studytool.cli import UsageError, echo, lang_of, print_problems
from studytool.config import ConfigError, describe, load_config, set_value, unset_value, value_text
from studytool.i18n import Msg, interval_label, rating_name, render, state_name, t, when_text
from studytool.store import Store, utcnow


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config",
        help="the settings (new cards per day, desired retention, learning steps, day start…)",
        description="Without arguments: every setting with its value and meaning. KEY: one setting. "
        "KEY VALUE: change it (checked first; nothing is written when it is wrong). KEY --reset: "
        "back to the default. The settings live in config.toml in the data directory.",
    )
    p.add_argument("key", nargs="?", metavar="KEY")
    p.add_argument("value", nargs="?", metavar="VALUE")
    p.add_argument("--reset", action="store_true", help="set KEY back to its default")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser(
        "cards",
        help="the card browser: list, search, show one card's history, suspend/unsuspend",
        description="cards [WORDS…]: every card and question whose id, topic or text (either "
        "language) holds all the words. cards show ID: one item's state and history. cards suspend "
        "ID… / cards unsuspend ID…: take items out of review or put them back.",
    )
    p.add_argument("words", nargs="*", metavar="WORDS", help="search words, or show/suspend/unsuspend ID…")
    p.add_argument(
        "--state",
        choices=["all", "new", "learning", "review", "due", "suspended", "buried"],
        default="all",
        help="only items in this state",
    )
    p.add_argument("--topic", metavar="T", help="only items of this topic")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_cards)


# --------------------------------------------------------------------------- config

_SET, _RESET = "studytool config KEY VALUE", "studytool config KEY --reset"


def cmd_config(args: argparse.Namespace) -> int:
    lang = lang_of(args)
    path = locations.config_path()
    if args.reset:
        if not args.key or args.value is not None:
            raise UsageError(t("config.how", lang, set=_SET, reset=_RESET))
        config = unset_value(args.key)
        print(t("config.reset", lang, name=args.key, value=value_text(args.key, config)))
        return 0
    if args.value is not None:
        config = set_value(args.key, args.value)
        print(t("config.saved", lang, name=args.key, value=value_text(args.key, config), path=path))
        return 0
    try:
        config = load_config()
    except ConfigError:
        raise
    settings = describe(config)
    if args.key is not None:
        settings = [s for s in settings if s.key == args.key]
        if not settings:
            set_value(args.key, "")  # raises the unknown-key error, in one wording
    if args.json:
        json.dump([s.to_json(lang) for s in settings], sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    if args.key is None:
        print(t("config.title", lang, path=path))
    for s in settings:
        mark = (
            t("config.default_mark", lang)
            if s.is_default
            else t("config.changed_mark", lang, default=s.default)
        )
        sep = "（" if lang == "zh" else " ("
        end = "）" if lang == "zh" else ")"
        print(f"{s.key} = {s.value}{sep}{mark}{end}")
        echo("    " + render(s.meaning, lang), hang=4)
        echo("    " + t("config.allowed_line", lang, allowed=s.allowed), hang=4)
    if args.key is None:
        print(t("config.how", lang, set=_SET, reset=_RESET))
    return 0


# --------------------------------------------------------------------------- cards


def _content() -> Any:
    from studytool.content import default_content

    content, problems = default_content()
    print_problems(problems)
    return content


def _status(row: Any, lang: str, now: datetime) -> str:
    if row.suspended:
        return t("browser.flag.suspended", lang)
    if row.buried_until is not None:
        return t("browser.flag.buried", lang, until=when_text(row.buried_until, now, lang))
    if row.due is None:
        return t("browser.never", lang)
    return t("browser.due", lang, when=when_text(max(row.due, now), now, lang))


def _row_line(row: Any, lang: str, now: datetime) -> str:
    return f"{row.id}  {state_name(row.state, lang)}  {_status(row, lang, now)}  {row.title(lang, 200)}"


def cmd_cards(args: argparse.Namespace) -> int:
    from studytool.content import TOPIC_LABELS
    from studytool.srs import browse

    lang = lang_of(args)
    content = _content()
    words = list(args.words)
    action = words[0] if words and words[0] in ("show", "suspend", "unsuspend") else None
    now = utcnow()
    with Store() as store:
        if action is not None:
            ids = words[1:]
            if not ids:
                raise UsageError(
                    t("browser.usage_id", lang, action=f"cards {action}", command="studytool cards")
                )
            rows = {r.id: r for r in browse.browse(store, content, now=now)}
            unknown = [i for i in ids if i not in rows]
            if unknown:
                raise UsageError(t("browser.unknown", lang, id=", ".join(unknown)))
            if action == "show":
                for item_id in ids:
                    _show(store, rows[item_id], lang, now, TOPIC_LABELS, args.json)
                return 0
            for item_id in ids:
                browse.set_suspended(store, content, item_id, action == "suspend", now=now)
                key = "browser.suspended" if action == "suspend" else "browser.unsuspended"
                print(f"{item_id}: " + t(key, lang, title=rows[item_id].title(lang, 60)))
            return 0
        try:
            rows_list = browse.browse(
                store, content, query=" ".join(words), state=args.state, topic=args.topic, now=now
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        total = len(browse.browse(store, content, now=now))
    if args.json:
        json.dump([r.to_json(lang) for r in rows_list], sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    for row in rows_list:
        echo(_row_line(row, lang, now), hang=4)
    print(
        t("browser.count", lang, shown=len(rows_list), total=total) if rows_list else t("browser.none", lang)
    )
    return 0


def _show(
    store: Store, row: Any, lang: str, now: datetime, topic_labels: dict[str, tuple[str, str]], as_json: bool
) -> None:
    from studytool.srs import browse

    entries = browse.history(store, row.id)
    if as_json:
        out = row.to_json(lang)
        out["history"] = [
            {
                "at": e.at.isoformat(),
                "rating": e.rating,
                "state_before": e.state_before,
                "state_after": e.state_after,
                "interval_s": int(e.interval.total_seconds()),
                "duration_ms": e.duration_ms,
            }
            for e in entries
        ]
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return
    na = t("browser.na", lang)
    topic = topic_labels.get(row.item.topic, (row.item.topic, row.item.topic))[1 if lang == "zh" else 0]
    print(
        t(
            "browser.detail.head",
            lang,
            kind=Msg(f"review.kind.{row.item.type}"),
            id=row.id,
            topic=topic,
            state=Msg(f"review.state.{row.state}"),
        )
    )
    echo(row.title(lang, 400))
    print(_status(row, lang, now))
    print(
        t(
            "browser.detail.numbers",
            lang,
            reviews=row.reviews,
            lapses=row.lapses,
            stability=interval_label(timedelta(days=row.stability), lang) if row.stability else na,
            recall=f"{row.retrievability:.0%}" if row.retrievability is not None else na,
        )
    )
    if not entries:
        print(t("browser.detail.no_history", lang))
        return
    print(t("browser.detail.history", lang))
    for e in entries:
        print(
            "  "
            + t(
                "browser.detail.entry",
                lang,
                at=e.at.astimezone().strftime("%Y-%m-%d %H:%M"),
                rating=rating_name(e.rating, lang),
                before=state_name(e.state_before, lang),
                after=state_name(e.state_after, lang),
                interval=interval_label(e.interval, lang),
            )
        )
