"""The learner's settings: one small TOML file in the data directory (``locations.config_path()``).

Every key is optional; an absent file means all defaults. A bad value is an error that names the
file and line (``config.toml:3: desired_retention: must be a number from 0.7 to 0.99``), never a
traceback and never a silent fallback. ``studytool config`` and the app's Settings screen show
each setting with its meaning (:func:`describe`) and change one with :func:`set_value`, which
validates the whole file as it would be and writes it only then (in place, comments kept,
atomically): a rejected change leaves the file as it was.

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

import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from studytool import locations
from studytool.i18n.catalog import Msg, render


class ConfigError(Exception):
    """A bad settings file or value; ``str()`` is ``file:line: message`` in English, ``msg`` the
    same as a catalogue message (``render(exc.msg, lang)``)."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(render(msg, "en"))
        self.msg = msg


@dataclass(frozen=True)
class Config:
    """The settings in force (defaults for any key the file does not set)."""

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


class _Invalid(ValueError):
    def __init__(self, key: str, **fields: Any) -> None:
        super().__init__(key)
        self.msg = Msg(f"config.invalid.{key}", **fields)


_STEP_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 60}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _steps(v: Any) -> tuple[timedelta, ...]:
    if not isinstance(v, list):
        raise _Invalid("steps_list")
    out = []
    for step in v:
        if _is_int(step) or isinstance(step, float):
            seconds = float(step) * 60  # a bare number means minutes
        elif isinstance(step, str) and (m := _STEP_RE.match(step)):
            seconds = float(m.group(1)) * _UNITS[m.group(2)]
        else:
            raise _Invalid("step_duration", step=repr(step))
        if seconds < 1:
            raise _Invalid("step_short", step=repr(step))
        if seconds >= 86400:
            raise _Invalid("step_long", step=repr(step))
        out.append(timedelta(seconds=round(seconds)))
    return tuple(out)


def _int_range(lo: int, hi: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if not _is_int(v) or not lo <= v <= hi:
            raise _Invalid("int_range", lo=lo, hi=hi, value=repr(v))
        return int(v)

    return check


def _retention(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.7 <= float(v) <= 0.99:
        raise _Invalid("retention", value=repr(v))
    return float(v)


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Invalid("bool", value=repr(v))
    return v


_KEYS: dict[str, Callable[[Any], Any]] = {
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
KEYS = tuple(_KEYS)  # in the order the settings are shown


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
        detail = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        raise ConfigError(Msg("config.error.toml", source=source, line=line, detail=detail)) from None
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _KEYS:
            raise ConfigError(
                Msg(
                    "config.error.unknown",
                    source=source,
                    line=_line_of(text, key),
                    name=key,
                    known=", ".join(sorted(_KEYS)),
                )
            )
        try:
            values[key] = _KEYS[key](value)
        except _Invalid as exc:
            raise ConfigError(
                Msg("config.error.value", source=source, line=_line_of(text, key), name=key, problem=exc.msg)
            ) from None
    return Config(**values, source=source)


def load_config(path: Path | str | None = None) -> Config:
    """The settings from ``path`` (default: the data directory's config file); defaults if absent."""
    p = Path(path) if path is not None else locations.config_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(Msg("config.error.read", source=str(p), detail=str(exc))) from None
    return parse_config(text, str(p))


# --------------------------------------------------------------------------- showing and changing


def _steps_text(steps: tuple[timedelta, ...]) -> list[str]:
    out = []
    for s in steps:
        secs = int(s.total_seconds())
        if secs % 3600 == 0:
            out.append(f"{secs // 3600}h")
        elif secs % 60 == 0:
            out.append(f"{secs // 60}m")
        else:
            out.append(f"{secs}s")
    return out


def value_text(key: str, config: Config) -> str:
    """A setting's value as it is written in config.toml (``["1m", "10m"]``, ``0.9``, ``true``)."""
    value = getattr(config, key)
    if key in ("learning_steps", "relearning_steps"):
        return json.dumps(_steps_text(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Setting:
    """One setting as the learner sees it: its value, whether it is the default, what it means
    and what it may be (``meaning`` and ``allowed`` are catalogue messages)."""

    key: str
    value: str  # as written in config.toml
    default: str
    is_default: bool
    meaning: Msg
    allowed: Msg

    def to_json(self, lang: str) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "default": self.default,
            "is_default": self.is_default,
            "meaning": render(self.meaning, lang),
            "allowed": render(self.allowed, lang),
        }


def describe(config: Config) -> list[Setting]:
    defaults = Config()
    return [
        Setting(
            key,
            value_text(key, config),
            value_text(key, defaults),
            getattr(config, key) == getattr(defaults, key),
            Msg(f"config.meaning.{key}"),
            Msg(f"config.allowed.{key}"),
        )
        for key in KEYS
    ]


def _value_from_text(key: str, raw: str) -> Any:
    """A value typed by the learner: TOML (``0.85``, ``true``, ``["1m", "10m"]``) or, for
    convenience, steps as words (``1m 10m``, ``1m,10m``) and yes/no/on/off for true/false."""
    text = raw.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    if key in ("learning_steps", "relearning_steps"):
        return [w for w in re.split(r"[\s,]+", text) if w]
    low = text.lower()
    if low in ("yes", "on"):
        return True
    if low in ("no", "off"):
        return False
    return text  # the validator names what it should be


def _toml_literal(key: str, value: Any) -> str:
    if key in ("learning_steps", "relearning_steps"):
        return json.dumps(_steps_text(_KEYS[key](value)))
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, str) else str(value)


def _replace_line(text: str, key: str, new_line: str | None) -> str:
    """``text`` with the line that sets ``key`` replaced by ``new_line`` (removed when None), or
    ``new_line`` appended. A comment after the value is kept."""
    pattern = re.compile(rf"^(\s*)[\"']?{re.escape(key)}[\"']?\s*=\s*(.*)$")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = pattern.match(line)
        if m:
            if new_line is None:
                del lines[i]
            else:
                comment = re.search(r"\s+#.*$", m.group(2))
                kept = comment.group(0) if comment and '"' not in comment.group(0) else ""
                lines[i] = m.group(1) + new_line + kept
            break
    else:
        if new_line is not None:
            lines.append(new_line)
    return "\n".join(lines) + ("\n" if lines else "")


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def set_value(key: str, raw: str, path: Path | str | None = None) -> Config:
    """Change one setting: the value is checked, then the whole file as it would be; only then is
    it written. Raises :class:`ConfigError` (and changes nothing) otherwise. Returns the new
    settings."""
    if key not in _KEYS:
        raise ConfigError(Msg("config.error.unknown_key", name=key, known=", ".join(KEYS)))
    p = Path(path) if path is not None else locations.config_path()
    value = _value_from_text(key, raw)
    try:
        _KEYS[key](value)
    except _Invalid as exc:
        raise ConfigError(Msg("config.error.set", name=key, value=raw, problem=exc.msg)) from None
    old = p.read_text(encoding="utf-8") if p.exists() else ""
    new = _replace_line(old, key, f"{key} = {_toml_literal(key, value)}")
    config = parse_config(new, str(p))  # the rest of the file must be valid too
    _write_atomically(p, new)
    return config


def unset_value(key: str, path: Path | str | None = None) -> Config:
    """Back to the default: the line setting ``key`` is removed (validated like :func:`set_value`)."""
    if key not in _KEYS:
        raise ConfigError(Msg("config.error.unknown_key", name=key, known=", ".join(KEYS)))
    p = Path(path) if path is not None else locations.config_path()
    if not p.exists():
        return Config()
    new = _replace_line(p.read_text(encoding="utf-8"), key, None)
    config = parse_config(new, str(p))
    _write_atomically(p, new)
    return config


# --------------------------------------------------------------------------- the app's language


def remembered_lang() -> str | None:
    """The language the app remembers (``ui.json``, written when the learner presses ``l``), or
    None when it remembers none: the CLI speaks it too."""
    try:
        data = json.loads(locations.ui_prefs_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    lang = data.get("lang") if isinstance(data, dict) else None
    return lang if lang in ("en", "zh") else None


__all__ = [
    "KEYS",
    "Config",
    "ConfigError",
    "Setting",
    "describe",
    "load_config",
    "parse_config",
    "remembered_lang",
    "set_value",
    "unset_value",
    "value_text",
]
