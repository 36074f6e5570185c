"""The learner's words, in English and Chinese. Messages live in the catalogue
(:mod:`studytool.i18n.catalog`, ``messages/*.yaml``); this module adds the small formatters the
review flow shares between the CLI and the app: rating and state names, interval labels, times.

``lang`` is "en" or "zh" everywhere (anything else falls back to English). No printing, no
imports of the interface libraries; the content's own text is not here (it carries both languages).
Terms (one per idea): 新卡片 new, 学习中 learning, 待复习 review (due), 重来 / 困难 / 良好 / 简单
(Anki's Chinese rating names), 暂停 suspend, 搁置 bury, 撤销 undo, 突击模式 cram.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from studytool.i18n.catalog import LANGS, Msg, render, t

__all__ = [
    "LANGS",
    "Msg",
    "render",
    "t",
    "tr",
    "rating_name",
    "state_name",
    "count_name",
    "interval_label",
    "duration_text",
    "when_text",
]

RATING_NAMES: dict[str, dict[int, str]] = {
    "en": {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"},
    "zh": {1: "重来", 2: "困难", 3: "良好", 4: "简单"},
}

STATE_NAMES: dict[str, dict[str, str]] = {
    "en": {"new": "new", "learning": "learning", "review": "review", "relearning": "relearning"},
    "zh": {"new": "新卡片", "learning": "学习中", "review": "复习", "relearning": "重新学习"},
}

# the three counts of a review session (scheduler.Counts), Anki's new / learning / review
COUNT_NAMES: dict[str, dict[str, str]] = {
    "en": {"new": "new", "learning": "learning", "review": "review"},
    "zh": {"new": "新卡片", "learning": "学习中", "review": "待复习"},
}

_UNITS = {
    "en": {"s": "s", "m": "m", "h": "h", "d": "d", "mo": "mo", "y": "y"},
    "zh": {"s": "秒", "m": "分钟", "h": "小时", "d": "天", "mo": "个月", "y": "年"},
}

# status lines and labels of the review flow: key → (English, Chinese); str.format fields


def _lang(lang: str) -> str:
    return "zh" if lang == "zh" else "en"


def tr(key: str, lang: str, **fields: Any) -> str:
    """One status line of the review flow (``messages/review.yaml``), filled in."""
    return t("review." + key, lang, **fields)


def rating_name(rating: int, lang: str) -> str:
    return RATING_NAMES[_lang(lang)][int(rating)]


def state_name(state: str, lang: str) -> str:
    return STATE_NAMES[_lang(lang)].get(state, state)


def count_name(key: str, lang: str) -> str:
    return COUNT_NAMES[_lang(lang)][key]


def interval_label(delta: timedelta, lang: str = "en") -> str:
    """Compact interval as Anki shows it on the answer buttons: 1m, 10m, 3h, 4d, 2.1mo, 1.5y
    (Chinese: 1分钟, 10分钟, 3小时, 4天, 2.1个月, 1.5年)."""
    u = _UNITS[_lang(lang)]
    s = max(0.0, delta.total_seconds())
    if s < 60:
        return f"{round(s)}{u['s']}"
    if s < 3600:
        return f"{round(s / 60)}{u['m']}"
    if s < 86400:
        return f"{round(s / 3600)}{u['h']}"
    days = s / 86400
    if days < 30:
        return f"{round(days)}{u['d']}"
    if days < 365:
        return f"{days / 30:.1f}{u['mo']}"
    return f"{days / 365:.1f}{u['y']}"


def duration_text(seconds: float, lang: str) -> str:
    """Time spent: "4 min 05 s" / "4 分 05 秒"; "1 h 02 min" / "1 小时 02 分"."""
    total = max(0, int(round(seconds)))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if _lang(lang) == "zh":
        if h:
            return f"{h} 小时 {m:02d} 分"
        return f"{m} 分 {s:02d} 秒" if m else f"{s} 秒"
    if h:
        return f"{h} h {m:02d} min"
    return f"{m} min {s:02d} s" if m else f"{s} s"


_WEEKDAYS_ZH = "一二三四五六日"


def when_text(dt: datetime, now: datetime, lang: str) -> str:
    """A due time in local time, relative to ``now``: "today 15:42 (in 10 min)",
    "tomorrow 04:00", "Thu 03 Dec 09:00" / "今天 15:42（10 分钟后）", "明天 04:00", "12月3日（周四）09:00"."""
    local, here = dt.astimezone(), now.astimezone()
    zh = _lang(lang) == "zh"
    hm = local.strftime("%H:%M")
    days = (local.date() - here.date()).days
    if days <= 0:
        mins = max(0, round((dt - now).total_seconds() / 60))
        if mins < 1:
            return f"现在（{hm}）" if zh else f"now ({hm})"
        if mins < 120:
            return f"今天 {hm}（{mins} 分钟后）" if zh else f"today {hm} (in {mins} min)"
        return f"今天 {hm}" if zh else f"today {hm}"
    if days == 1:
        return f"明天 {hm}" if zh else f"tomorrow {hm}"
    if zh:
        year = f"{local.year}年" if local.year != here.year else ""
        return f"{year}{local.month}月{local.day}日（周{_WEEKDAYS_ZH[local.weekday()]}）{hm}"
    if local.year == here.year:
        return local.strftime("%a %d %b ") + hm
    return local.strftime("%Y-%m-%d ") + hm
