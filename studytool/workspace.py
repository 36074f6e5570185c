"""The learner's exercise workspace (core: no torch): list and status, start/reset, hints, solution.

The learner's files live in ``locations.workspace_dir()`` as ``<exercise id>.py``. Exercise
metadata comes from ``studytool.content.load_exercises`` (one function here, ``exercises()``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studytool import locations


class UnknownExerciseError(KeyError):
    def __init__(self, exercise_id: str, known: list[str]) -> None:
        super().__init__(exercise_id)
        self.exercise_id = exercise_id
        self.known = known

    def __str__(self) -> str:
        return f"unknown exercise '{self.exercise_id}' (known: {', '.join(self.known)})"


def exercises() -> list[Any]:
    """Every exercise (``ExerciseMeta``), in order."""
    from studytool.content import load_exercises

    metas, _problems = load_exercises()
    return list(metas)


def get(exercise_id: str) -> Any:
    metas = exercises()
    for meta in metas:
        if meta.id == exercise_id:
            return meta
    raise UnknownExerciseError(exercise_id, [m.id for m in metas])


def workspace_file(exercise_id: str) -> Path:
    return locations.workspace_dir() / f"{exercise_id}.py"


def start(exercise_id: str, reset: bool = False) -> tuple[Path, bool]:
    """Copy the starter into the workspace. Returns (path, copied): existing work is kept unless
    ``reset`` (then the old file is kept beside it as ``<id>.py.bak``)."""
    meta = get(exercise_id)
    path = workspace_file(exercise_id)
    if path.exists() and not reset:
        return path, False
    if path.exists():
        shutil.copyfile(path, path.with_suffix(".py.bak"))
    shutil.copyfile(meta.starter_path, path)
    return path, True


@dataclass(frozen=True)
class ExerciseStatus:
    """An exercise as the exercise list shows it."""

    id: str
    order: int
    title: Any  # content.Text
    topic: str
    status: str  # "not started" | "failing" | "passed"
    attempts: int
    best: dict | None  # {"passed", "total"}
    started: bool  # a workspace file exists
    path: Path

    def to_json(self, lang: str = "en") -> dict:
        return {
            "id": self.id,
            "order": self.order,
            "title": self.title.get(lang),
            "topic": self.topic,
            "status": self.status,
            "attempts": self.attempts,
            "best": self.best,
            "started": self.started,
            "path": str(self.path),
        }


def statuses(store: Any = None) -> list[ExerciseStatus]:
    from studytool.store import Store

    own = store is None
    store = store or Store()
    try:
        summary = store.exercise_summary()
    finally:
        if own:
            store.close()
    out = []
    for meta in exercises():
        s = summary.get(meta.id)
        attempts = _get(s, "attempts", 0)
        passed = bool(_get(s, "passed", False))
        best = _get(s, "best", None)
        if best is not None and not isinstance(best, dict):
            best = {"passed": _get(best, "passed", 0), "total": _get(best, "total", 0)}
        status = "passed" if passed else ("failing" if attempts else "not started")
        path = workspace_file(meta.id)
        out.append(
            ExerciseStatus(
                meta.id, meta.order, meta.title, meta.topic, status, attempts, best, path.exists(), path
            )
        )
    return out


def _get(obj: Any, key: str, default: Any) -> Any:
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def next_hint(exercise_id: str, store: Any = None) -> tuple[int, int, Any]:
    """(1-based number, how many, Text) of the next hint; the last one repeats once all are shown."""
    from studytool.store import Store

    meta = get(exercise_id)
    if not meta.hints:
        raise LookupError(f"{exercise_id} has no hints")
    own = store is None
    store = store or Store()
    try:
        shown = store.hints_shown(exercise_id)
        if shown < len(meta.hints):
            shown = store.bump_hint(exercise_id)
    finally:
        if own:
            store.close()
    n = max(1, min(shown, len(meta.hints)))
    return n, len(meta.hints), meta.hints[n - 1]


def has_passed(exercise_id: str, store: Any = None) -> bool:
    from studytool.store import Store

    own = store is None
    store = store or Store()
    try:
        return bool(_get(store.exercise_summary().get(exercise_id), "passed", False))
    finally:
        if own:
            store.close()


def solution_source(exercise_id: str) -> str:
    """The reference implementation's source (read as text; never imported here)."""
    get(exercise_id)
    path = locations.grader_dir() / "references" / f"{exercise_id}.py"
    return path.read_text(encoding="utf-8")
