"""Words the screens share with the CLI: rating names and interval labels come from the core's one
string table (:mod:`studytool.i18n`), so the app and `studytool review --plain` never drift."""

from __future__ import annotations

from datetime import timedelta

try:  # the core's table (issue 11)
    from studytool.i18n import interval_label, rating_name
except ImportError:  # pragma: no cover - a core without the table: the same words, kept here
    _NAMES = {"en": {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"},
              "zh": {1: "重来", 2: "困难", 3: "良好", 4: "简单"}}

    def rating_name(rating: int, lang: str = "en") -> str:
        return _NAMES["zh" if lang == "zh" else "en"][int(rating)]

    def interval_label(delta: timedelta, lang: str = "en") -> str:
        s = max(0, int(delta.total_seconds()))
        units = ((86400 * 365, "y", "年"), (86400 * 30, "mo", "个月"), (86400, "d", "天"),
                 (3600, "h", "小时"), (60, "m", "分钟"))
        for size, en, zh in units:
            if s >= size:
                n = round(s / size)
                return f"{n}{en}" if lang != "zh" else f"{n} {zh}"
        return "<1m" if lang != "zh" else "不到 1 分钟"

__all__ = ["interval_label", "rating_name"]
