"""Every path studytool uses, in one place.

Set ``STUDYTOOL_HOME`` to move all of the learner's data (tests and scripts do).
"""

from __future__ import annotations

import importlib
import os
from importlib import resources
from pathlib import Path

APP_NAME = "studytool"
HOME_ENV = "STUDYTOOL_HOME"


def data_dir(create: bool = True) -> Path:
    env = os.environ.get(HOME_ENV)
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def db_path() -> Path:
    return data_dir() / "progress.sqlite3"


def config_path() -> Path:
    return data_dir() / "config.toml"


def ui_prefs_path() -> Path:
    """The app's view preferences (the content language)."""
    return data_dir() / "ui.json"


def anki_export_state_path() -> Path:
    """What `export apkg` last wrote for each note (a content hash and the modification time it
    gave it), so an unchanged note keeps its time and Anki does not report it as updated."""
    return data_dir() / "anki-export.json"


def workspace_dir() -> Path:
    path = data_dir() / "workspace"
    path.mkdir(parents=True, exist_ok=True)
    return path


def decks_dir() -> Path:
    """Learner decks: YAML files in the flashcard format."""
    return data_dir() / "decks"


def _package_dir(package: str) -> Path:
    # the package's own folder (importlib.resources.files would import zipfile & co. at start-up)
    module = importlib.import_module(package)
    paths = list(getattr(module, "__path__", ()))
    return Path(paths[0]) if paths else Path(str(resources.files(package)))


def content_dir() -> Path:
    return _package_dir("studytool.content_data")


def exercises_dir() -> Path:
    return _package_dir("studytool.exercise_data")


def grader_dir() -> Path:
    return _package_dir("studytool.grader")


def app_lock_path() -> Path:
    """Held by a running app (:mod:`studytool.applock`): a second one on the same data says so."""
    return data_dir() / "app.lock"


def cache_dir() -> Path:
    """Things that can be rebuilt at any time (the parsed content). ``$STUDYTOOL_HOME/cache`` when
    set, else the platform's cache directory."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser() / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
