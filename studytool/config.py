"""The learner's settings: one small TOML file in the data directory (``locations.config_path()``).

Every key is optional; an absent file means all defaults. A bad value is an error that names the
file and line (``config.toml:3: desired_retention: must be between 0.7 and 0.99``), never a traceback
and never a silent fallback.

Example (every key, with its default)::

    new_per_day = 20                  # new items introduced per day
    desired_retention = 0.9           # FSRS target probability of recall
    max_same_topic_in_row = 2         # interleaving: at most this many items of one topic in a row
    learning_steps = ["1m", "10m"]    # fsrs' defaults; each under a day
    relearning_steps = ["10m"]
    maximum_interval = 36500          # days
    enable_fuzzing = true             # fsrs fuzz (applied exactly as shown)
    day_starts_at = 4                 # local hour at which a new study day starts (as in Anki)
    learn_ahead_minutes = 20          # show learning steps this early when nothing else is left
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from studytool import locations


class ConfigError(Exception):
    """A bad settings file; ``str()`` is ``file:line: message``."""


@dataclass(frozen=True)
class Config:
    new_per_day: int = 20
    desired_retention: float = 0.9
    max_same_topic_in_row: int = 2
    learning_steps: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=10))
    relearning_steps: tuple[timedelta, ...] = (timedelta(minutes=10),)
    maximum_interval: int = 36500
    enable_fuzzing: bool = True
    day_starts_at: int = 4
    learn_ahead_minutes: int = 20
    source: str | None = None  # the file it was read from, None for pure defaults


_STEP_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 60}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _steps(v: Any) -> tuple[timedelta, ...]:
    if not isinstance(v, list):
        raise ValueError('must be a list of durations such as ["1m", "10m"]')
    out = []
    for step in v:
        if _is_int(step) or isinstance(step, float):
            seconds = float(step) * 60  # a bare number means minutes
        elif isinstance(step, str) and (m := _STEP_RE.match(step)):
            seconds = float(m.group(1)) * _UNITS[m.group(2)]
        else:
            raise ValueError(f'{step!r} is not a duration (use e.g. "30s", "10m", "2h")')
        if seconds < 1:
            raise ValueError(f"{step!r}: a step must be at least one second")
        if seconds >= 86400:
            raise ValueError(
                f"{step!r}: learning steps must stay under a day (FSRS schedules anything longer)"
            )
        out.append(timedelta(seconds=round(seconds)))
    return tuple(out)


def _int_range(lo: int, hi: int):
    def check(v: Any) -> int:
        if not _is_int(v) or not lo <= v <= hi:
            raise ValueError(f"must be a whole number from {lo} to {hi}, not {v!r}")
        return int(v)

    return check


def _retention(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.7 <= float(v) <= 0.99:
        raise ValueError(f"must be a number between 0.7 and 0.99, not {v!r}")
    return float(v)


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"must be true or false, not {v!r}")
    return v


_KEYS = {
    "new_per_day": _int_range(0, 9999),
    "desired_retention": _retention,
    "max_same_topic_in_row": _int_range(1, 1000),
    "learning_steps": _steps,
    "relearning_steps": _steps,
    "maximum_interval": _int_range(1, 36500),
    "enable_fuzzing": _bool,
    "day_starts_at": _int_range(0, 23),
    "learn_ahead_minutes": _int_range(0, 1440),
}


def _line_of(text: str, key: str) -> int:
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return 1


def parse_config(text: str, source: str = "config.toml") -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(m.group(1)) if m else 1
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        raise ConfigError(f"{source}:{line}: {msg}") from None
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"{source}:{_line_of(text, key)}: unknown setting {key!r} (known: {known})")
        try:
            values[key] = _KEYS[key](value)
        except ValueError as exc:
            raise ConfigError(f"{source}:{_line_of(text, key)}: {key}: {exc}") from None
    return Config(**values, source=source)


def load_config(path: Path | str | None = None) -> Config:
    """The settings from ``path`` (default: the data directory's config file); defaults if absent."""
    p = Path(path) if path is not None else locations.config_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}:1: cannot read settings: {exc}") from None
    return parse_config(text, str(p))
