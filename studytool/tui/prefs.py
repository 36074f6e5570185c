"""The app's own preferences (today only the content language), in ``ui.json`` in the data directory.

The scheduling settings file (``config.toml``, :mod:`studytool.config`) belongs to the scheduler and
has no language key, so the TUI keeps its view preferences beside it rather than extending it.
A missing or unreadable file means the defaults; a write that fails is reported, never raised.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from studytool import locations

LANGS = ("en", "zh")
DEFAULTS = {"lang": "en"}


def prefs_path() -> Path:
    return locations.ui_prefs_path()


def load_prefs() -> dict:
    try:
        data = json.loads(prefs_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return dict(DEFAULTS)
    out = dict(DEFAULTS)
    if isinstance(data, dict) and data.get("lang") in LANGS:
        out["lang"] = data["lang"]
    return out


def save_prefs(prefs: dict) -> None:
    """Write atomically (a temporary file renamed over the old one). Raises OSError on failure."""
    path = prefs_path()
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(prefs, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def load_lang() -> str:
    return load_prefs()["lang"]


def save_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}")
    prefs = load_prefs()
    prefs["lang"] = lang
    save_prefs(prefs)
