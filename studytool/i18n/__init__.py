"""The learner's words, in English and Chinese. Messages live in the catalogue
(:mod:`studytool.i18n.catalog`, ``messages/*.yaml``); this module adds the small formatters the
review flow shares between the CLI and the app — rating, state and count names, interval labels,
durations, due times — all worded from the catalogue (``messages/review.yaml``).

``lang`` is "en" or "zh" everywhere (anything else falls back to English). No printing, no
imports of the interface libraries; the content's own text is not here (it carries both languages).
Terms (one per idea): 新卡片 new, 学习中 learning, 待复习 review (due), 重来 / 困难 / 良好 / 简单
(Anki's Chinese rating names), 暂停 suspend, 搁置 bury, 撤销 undo, 突击模式 cram.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from studytool.i18n.catalog import LANGS, Msg, norm_lang, render, t

__all__ = [
    "LANGS",
    "Msg",
    "render",
    "t",
    "tr",
    "plural",
    "rating_name",
    "state_name",
    "count_name",
    "interval_label",
    "duration_text",
    "when_text",
]


def tr(key: str, lang: str, **fields: Any) -> str:
    """One status line of the review flow (``messages/review.yaml``), filled in."""
    return t("review." + key, lang, **fields)


def plural(key: str, n: int) -> Msg:
    """``<key>.one`` for 1, ``<key>.other`` otherwise, with the field ``n``."""
    return Msg(f"{key}.{'one' if n == 1 else 'other'}", n=n)


def rating_name(rating: int, lang: str) -> str:
    return t(f"review.rating.{int(rating)}", lang)


def state_name(state: str, lang: str) -> str:
    key = f"review.state.{state}"
    from studytool.i18n.catalog import has

    return t(key, lang) if has(key) else state


def count_name(key: str, lang: str) -> str:
    """The three counts of a review session (``srs.Counts``): Anki's new / learning / review."""
    return t(f"review.count.{key}", lang)


def interval_label(delta: timedelta, lang: str = "en") -> str:
    """Compact interval as Anki shows it on the answer buttons: 1m, 10m, 3h, 4d, 2.1mo, 1.5y
    (Chinese: 1分钟, 10分钟, 3小时, 4天, 2.1个月, 1.5年)."""
    s = max(0.0, delta.total_seconds())
    if s < 60:
        unit, n = "s", f"{round(s)}"
    elif s < 3600:
        unit, n = "m", f"{round(s / 60)}"
    elif s < 86400:
        unit, n = "h", f"{round(s / 3600)}"
    elif s / 86400 < 30:
        unit, n = "d", f"{round(s / 86400)}"
    elif s / 86400 < 365:
        unit, n = "mo", f"{s / 86400 / 30:.1f}"
    else:
        unit, n = "y", f"{s / 86400 / 365:.1f}"
    return t(f"review.interval.{unit}", lang, n=n)


def duration_text(seconds: float, lang: str) -> str:
    """Time spent: "4 min 05 s" / "4 分 05 秒"; "1 h 02 min" / "1 小时 02 分"."""
    total = max(0, int(round(seconds)))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return t("review.duration.h_m", lang, h=h, m=f"{m:02d}")
    if m:
        return t("review.duration.m_s", lang, m=m, s=f"{s:02d}")
    return t("review.duration.s", lang, s=s)


def when_text(dt: datetime, now: datetime, lang: str) -> str:
    """A due time in local time, relative to ``now``: "today 15:42 (in 10 min)",
    "tomorrow 04:00", "Thu 03 Dec 09:00" / "今天 15:42（10 分钟后）", "明天 04:00", "12月3日（周四）09:00"."""
    lang = norm_lang(lang)
    local, here = dt.astimezone(), now.astimezone()
    hm = local.strftime("%H:%M")
    days = (local.date() - here.date()).days
    if days <= 0:
        mins = max(0, round((dt - now).total_seconds() / 60))
        if mins < 1:
            return t("review.when.now", lang, hm=hm)
        if mins < 120:
            return t("review.when.today_in", lang, hm=hm, mins=mins)
        return t("review.when.today", lang, hm=hm)
    if days == 1:
        return t("review.when.tomorrow", lang, hm=hm)
    weekday = t(f"review.weekday.{local.weekday()}", lang)
    month = t(f"review.month.{local.month}", lang)
    key = "review.when.date" if local.year == here.year else "review.when.date_year"
    return t(
        key,
        lang,
        weekday=weekday,
        day={"en": f"{local.day:02d}", "zh": str(local.day)},
        month=month,
        year=local.year,
        hm=hm,
    )
