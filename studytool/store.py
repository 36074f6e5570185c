"""The learner's progress, in SQLite (through sqlite-utils).

- WAL journal, ``synchronous=FULL``: a committed write survives a kill at any moment.
- Every logical write (a review, an attempt, a tick) is one transaction (:meth:`Store.tx`).
- ``PRAGMA user_version`` holds the schema version; :data:`MIGRATIONS` move a store forward one
  version at a time, each in its own transaction.
- Progress is keyed by content ids, never by text, so editing a card keeps its history.
- Rows leave this module as plain dataclasses.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studytool import locations


def _import_sqlite_utils():
    """Import sqlite-utils without the pandas and numpy it loads, when installed, only to map their
    scalar types (about 0.4 s of start-up; the store never writes such values)."""
    blocked = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # makes `import name` fail fast
    try:
        import sqlite_utils
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    return sqlite_utils


if TYPE_CHECKING:
    import sqlite_utils
else:
    sqlite_utils = _import_sqlite_utils()


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: studytool stores UTC only")
    return dt.astimezone(UTC).isoformat()


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# --------------------------------------------------------------------------- migrations


def _v1(db: sqlite_utils.Database) -> None:
    db.execute("""
        CREATE TABLE item_state (
            item_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,              -- 'card' | 'question'
            card_json TEXT NOT NULL,         -- fsrs Card.to_json()
            due TEXT NOT NULL,               -- ISO UTC
            state INTEGER NOT NULL,          -- fsrs State
            suspended INTEGER NOT NULL DEFAULT 0,
            buried_until TEXT,               -- ISO UTC or NULL
            updated_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE review_log (
            id INTEGER PRIMARY KEY,
            item_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            rating INTEGER NOT NULL,         -- 1 Again .. 4 Easy
            reviewed_at TEXT NOT NULL,
            duration_ms INTEGER,
            prev_card_json TEXT,             -- NULL when the item was new
            card_json TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE question_attempts (
            id INTEGER PRIMARY KEY,
            question_id TEXT NOT NULL,
            answer_text TEXT NOT NULL DEFAULT '',
            recalled_json TEXT NOT NULL DEFAULT '[]',
            total_points INTEGER NOT NULL,
            rating INTEGER,
            at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE exercise_attempts (
            id INTEGER PRIMARY KEY,
            exercise_id TEXT NOT NULL,
            code TEXT NOT NULL,
            status TEXT NOT NULL,            -- pass | fail | error
            passed INTEGER NOT NULL,
            total INTEGER NOT NULL,
            tests_json TEXT NOT NULL,
            duration_s REAL NOT NULL,
            at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE checklist_ticks (
            item_id TEXT PRIMARY KEY,
            done INTEGER NOT NULL,
            at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE hints_shown (
            exercise_id TEXT PRIMARY KEY,
            count INTEGER NOT NULL
        )""")


def _v2(db: sqlite_utils.Database) -> None:
    # Indexes for the queries that grow with history: the log by item and by day, attempts by exercise.
    db.execute("CREATE INDEX review_log_item ON review_log(item_id, reviewed_at)")
    db.execute("CREATE INDEX review_log_time ON review_log(reviewed_at)")
    db.execute("CREATE INDEX item_state_due ON item_state(due)")
    db.execute("CREATE INDEX exercise_attempts_ex ON exercise_attempts(exercise_id, at)")


def _v3(db: sqlite_utils.Database) -> None:
    # Scheduling settings (studytool.scheduler): the fsrs parameters fitted by `optimize`, and the
    # scheduler (parameters, retention, steps) the stored item states were computed with.
    db.execute("""
        CREATE TABLE scheduler_meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL              -- JSON
        )""")


def _v4(db: sqlite_utils.Database) -> None:
    # The lab (studytool.lab): one row per finished experiment run, written in one transaction
    # when the run ends — a run that is cancelled or killed midway never looks complete.
    db.execute("""
        CREATE TABLE lab_runs (
            id INTEGER PRIMARY KEY,
            experiment TEXT NOT NULL,
            status TEXT NOT NULL,            -- completed | failed | cancelled
            quick INTEGER NOT NULL,
            seed INTEGER NOT NULL,
            settings_json TEXT NOT NULL,
            sources_json TEXT NOT NULL,      -- {component: "yours" | "reference"}
            results_json TEXT,               -- NULL unless completed
            reproduced INTEGER,              -- 1 | 0, NULL unless completed
            verdict_json TEXT,               -- what the trusted side concluded, and why
            environment_json TEXT NOT NULL,  -- torch version, threads, sandbox
            error TEXT,
            duration_s REAL NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX lab_runs_exp ON lab_runs(experiment, id)")


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4]
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    pass


def _retry_while_locked(fn: Callable[[], Any], seconds: float = 10.0) -> Any:
    """Switching a new database to WAL does not wait on SQLite's busy handler: another process
    opening the same new store at that moment makes it fail with "database is locked"."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class ExerciseAttempt:
    id: int
    exercise_id: str
    code: str
    status: str
    passed: int
    total: int
    tests: list[dict[str, Any]]
    duration_s: float
    at: datetime


@dataclass(frozen=True)
class QuestionAttempt:
    id: int
    question_id: str
    answer_text: str
    recalled: list[int]
    total_points: int
    rating: int | None
    at: datetime


@dataclass(frozen=True)
class Tick:
    item_id: str
    done: bool
    at: datetime


@dataclass
class ExerciseSummary:
    attempts: int = 0
    passed: bool = False
    best: dict[str, int] | None = field(default=None)


# --------------------------------------------------------------------------- the store


class Store:
    def __init__(self, path: Path | str | None = None, *, migrate: bool = True) -> None:
        self.path = Path(path) if path is not None else locations.db_path()
        conn = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.path), timeout=10.0, isolation_level=None, check_same_thread=False
            )
            _retry_while_locked(lambda: conn.execute("PRAGMA journal_mode=WAL"))
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self.conn = conn
            self.db = sqlite_utils.Database(conn)
            if migrate:
                self.migrate()
        except (OSError, sqlite3.Error) as exc:
            # not a database, unreadable, a folder that cannot be created: a message, not a traceback
            if conn is not None:
                conn.close()
            raise StoreError(f"{self.path}: cannot open the progress store: {exc}") from None
        except StoreError:
            if conn is not None:
                conn.close()
            raise

    # -- plumbing

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite_utils.Database]:
        """One logical write: all of it is committed, or none of it."""
        if self.conn.in_transaction:  # nested: part of the outer transaction
            yield self.db
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    @property
    def version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, target: int = SCHEMA_VERSION) -> None:
        current = self.version
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: schema version {current} is newer than this studytool "
                f"understands ({SCHEMA_VERSION}); upgrade studytool"
            )
        for version in range(current + 1, target + 1):
            with self.tx():
                # re-read under the write lock: another process (the app and a `check` started
                # together on a new store) may have applied this step meanwhile
                if self.version >= version:
                    continue
                MIGRATIONS[version - 1](self.db)
                self.conn.execute(f"PRAGMA user_version = {version}")

    def integrity_check(self) -> str:
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    # -- checklist

    def set_tick(self, item_id: str, done: bool) -> None:
        with self.tx() as db:
            db.table("checklist_ticks").upsert(
                {"item_id": item_id, "done": int(done), "at": to_iso(utcnow())}, pk="item_id"
            )

    def ticks(self) -> dict[str, Tick]:
        return {
            r["item_id"]: Tick(r["item_id"], bool(r["done"]), from_iso(r["at"]))
            for r in self.db.query("SELECT item_id, done, at FROM checklist_ticks")
        }

    # -- exercises

    def record_exercise_attempt(self, exercise_id: str, code: str, result: dict[str, Any]) -> int:
        row = {
            "exercise_id": exercise_id,
            "code": code,
            "status": str(result["status"]),
            "passed": int(result["passed"]),
            "total": int(result["total"]),
            "tests_json": json.dumps(result.get("tests", []), ensure_ascii=False),
            "duration_s": float(result.get("duration_s", 0.0)),
            "at": to_iso(utcnow()),
        }
        with self.tx() as db:
            return int(db.table("exercise_attempts").insert(row).last_pk or 0)

    def exercise_attempts(self, exercise_id: str | None = None) -> list[ExerciseAttempt]:
        sql = "SELECT * FROM exercise_attempts"
        params: list[Any] = []
        if exercise_id is not None:
            sql += " WHERE exercise_id = ?"
            params.append(exercise_id)
        sql += " ORDER BY id"
        return [
            ExerciseAttempt(
                r["id"],
                r["exercise_id"],
                r["code"],
                r["status"],
                r["passed"],
                r["total"],
                json.loads(r["tests_json"]),
                r["duration_s"],
                from_iso(r["at"]),
            )
            for r in self.db.query(sql, params)
        ]

    def exercise_summary(self) -> dict[str, ExerciseSummary]:
        out: dict[str, ExerciseSummary] = {}
        for r in self.db.query(
            "SELECT exercise_id, COUNT(*) AS n, MAX(status = 'pass') AS ok FROM exercise_attempts "
            "GROUP BY exercise_id"
        ):
            out[r["exercise_id"]] = ExerciseSummary(r["n"], bool(r["ok"]))
        for r in self.db.query(
            "SELECT exercise_id, passed, total FROM exercise_attempts a WHERE id = ("
            " SELECT id FROM exercise_attempts b WHERE b.exercise_id = a.exercise_id"
            " ORDER BY CAST(passed AS REAL) / MAX(total, 1) DESC, id DESC LIMIT 1)"
        ):
            out[r["exercise_id"]].best = {"passed": r["passed"], "total": r["total"]}
        return out

    def hints_shown(self, exercise_id: str) -> int:
        row = self.conn.execute(
            "SELECT count FROM hints_shown WHERE exercise_id = ?", (exercise_id,)
        ).fetchone()
        return int(row[0]) if row else 0

    def bump_hint(self, exercise_id: str) -> int:
        with self.tx():
            self.conn.execute(
                "INSERT INTO hints_shown(exercise_id, count) VALUES (?, 1) "
                "ON CONFLICT(exercise_id) DO UPDATE SET count = count + 1",
                (exercise_id,),
            )
            return self.hints_shown(exercise_id)

    # -- questions

    def record_question_attempt(
        self, question_id: str, answer_text: str, recalled: list[int], total_points: int, rating: int | None
    ) -> int:
        row = {
            "question_id": question_id,
            "answer_text": answer_text,
            "recalled_json": json.dumps(sorted(set(recalled))),
            "total_points": total_points,
            "rating": rating,
            "at": to_iso(utcnow()),
        }
        with self.tx() as db:
            return int(db.table("question_attempts").insert(row).last_pk or 0)

    def question_attempts(self, question_id: str | None = None) -> list[QuestionAttempt]:
        sql = "SELECT * FROM question_attempts"
        params: list[Any] = []
        if question_id is not None:
            sql += " WHERE question_id = ?"
            params.append(question_id)
        sql += " ORDER BY id"
        return [
            QuestionAttempt(
                r["id"],
                r["question_id"],
                r["answer_text"],
                json.loads(r["recalled_json"]),
                r["total_points"],
                r["rating"],
                from_iso(r["at"]),
            )
            for r in self.db.query(sql, params)
        ]
