"""The learner-facing words the review flow shares between the CLI and the app, in English and
Chinese: rating and state names, interval labels, status lines, the end-of-session lines.

``lang`` is "en" or "zh" everywhere (anything else falls back to English). No printing, no
imports of the interface libraries; the content's own text is not here (it carries both languages).
Terms (one per idea): 新卡片 new, 学习中 learning, 待复习 review (due), 重来 / 困难 / 良好 / 简单
(Anki's Chinese rating names), 暂停 suspend, 搁置 bury, 撤销 undo, 突击模式 cram.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

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
STRINGS: dict[str, tuple[str, str]] = {
    "cram_label": ("no change (cram)", "不改日程（突击模式）"),
    "cram_on": ("Cram mode on: nothing is scheduled", "突击模式开启：不改动日程"),
    "cram_off": ("Cram mode off: ratings are scheduled again", "突击模式关闭：评分重新计入日程"),
    "rated": ("{rating} → {interval}: {title}", "{rating} → {interval}：{title}"),
    "rated_cram": ("{rating}: {title} (cram, no change)", "{rating}：{title}（突击模式，日程不变）"),
    "undone": ("Undone: {title} is back", "已撤销：{title} 回到当前"),
    "nothing_to_undo": ("Nothing to undo in this session", "本轮没有可撤销的操作"),
    "undo_changed_elsewhere": (
        "Cannot undo {title}: it was reviewed in another window since",
        "无法撤销 {title}：之后它已在另一个窗口中复习过",
    ),
    "suspended": ("Suspended: {title} (unsuspend brings it back)", "已暂停：{title}（可用“恢复”取回）"),
    "buried": ("Buried until tomorrow: {title}", "已搁置到明天：{title}"),
    "unsuspended": ("Back in review: {title}", "已恢复复习：{title}"),
    "unburied": ("Back in review today: {title}", "今天重新复习：{title}"),
    "changed_elsewhere": (
        "Updated from another window: the queue and intervals were refreshed",
        "另一个窗口改动了进度：队列和间隔已刷新",
    ),
    "recomputed": (
        "changed in another window: computed from its latest state",
        "在另一个窗口中改动过：已按最新状态计算",
    ),
    "remaining": ("{n} more", "还有 {n} 张"),
    "counts": (
        "{new} new · {learning} learning · {review} review",
        "新卡片 {new} · 学习中 {learning} · 待复习 {review}",
    ),
    "nothing_due": ("Nothing is due right now.", "现在没有要复习的内容。"),
}


def _lang(lang: str) -> str:
    return "zh" if lang == "zh" else "en"


def tr(key: str, lang: str, **fields: Any) -> str:
    """One status string of :data:`STRINGS`, filled in."""
    en, zh = STRINGS[key]
    return (zh if _lang(lang) == "zh" else en).format(**fields)


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
