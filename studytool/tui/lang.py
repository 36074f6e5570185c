"""Words the screens share with the CLI: rating names, interval labels, status lines and the three
counts come from the core's one string table (:mod:`studytool.i18n`), so the app and
`studytool review --plain` never drift."""

from __future__ import annotations

from studytool.i18n import count_name, interval_label, rating_name, state_name, tr

__all__ = ["count_name", "interval_label", "rating_name", "state_name", "tr"]
