"""The learner's progress, in SQLite: the schema, its migrations, and every query.

- WAL journal, ``synchronous=FULL``: a committed write survives a kill at any moment.
- Every logical write (a review, an attempt, a tick) is one transaction (:meth:`Store.tx`).
- ``PRAGMA user_version`` holds the schema version; :data:`MIGRATIONS` move a store forward one
  version at a time, each in its own transaction.
- Progress is keyed by content ids, never by text, so editing a card keeps its history.
- The store owns the SQL: the scheduler (:mod:`studytool.srs`), the checklist and the stats call
  the methods below and never write a statement of their own. Rows leave this module as plain
  dataclasses, dicts or tuples.
- Plain ``sqlite3`` on every path the app and the CLI take (it imports in milliseconds);
  ``sqlite-utils`` is loaded only when :attr:`Store.db` is first used (the lab's run storage).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from studytool import locations
from studytool.schema import MIGRATIONS, SCHEMA_VERSION, STATE_COLUMNS

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STATE_COLUMNS",
    "Store",
    "StoreError",
    "from_iso",
    "to_iso",
    "utcnow",
]

if TYPE_CHECKING:
    import sqlite_utils


def _import_sqlite_utils() -> Any:
    """Import sqlite-utils without the pandas and numpy it loads, when installed, only to map their
    scalar types (about 0.4 s of start-up; the store never writes such values)."""
    blocked = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail fast
    try:
        import sqlite_utils
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    return sqlite_utils


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: studytool stores UTC only")
    return dt.astimezone(UTC).isoformat()


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


_LOG_COLUMNS = "id, item_id, kind, rating, reviewed_at, duration_ms, prev_card_json, card_json"


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
    """One graded attempt at an exercise."""

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
    """One answer to a question (typed text, key points recalled, rating)."""

    id: int
    question_id: str
    answer_text: str
    recalled: list[int]
    total_points: int
    rating: int | None
    at: datetime


@dataclass(frozen=True)
class Tick:
    """The learner's own tick or untick of a checklist item."""

    item_id: str
    done: bool
    at: datetime


@dataclass
class ExerciseSummary:
    """Attempts at an exercise: how many, passed or not, the best."""

    attempts: int = 0
    passed: bool = False
    best: dict[str, int] | None = field(default=None)


@dataclass(frozen=True)
class LogRow:
    """One row of the review log."""

    id: int
    item_id: str
    kind: str
    rating: int
    reviewed_at: str  # ISO UTC
    duration_ms: int | None
    prev_card_json: str | None
    card_json: str


class QueueRow(NamedTuple):
    """What the review queue needs of one item's state (ISO UTC strings compare in time order)."""

    item_id: str
    due: str
    state: int
    suspended: int  # 0 | 1
    buried_until: str | None
    is_new: int  # 0 | 1: never reviewed
    stability: float | None = None  # only when asked for (cram)
    last_review: str | None = None


class _LazyDb:
    """What ``with store.tx() as db`` yields: sqlite-utils' Database, imported on first use."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store.db, name)

    def __getitem__(self, name: str) -> Any:
        return self._store.db[name]


# --------------------------------------------------------------------------- the store


class Store:
    def __init__(self, path: Path | str | None = None, *, migrate: bool = True) -> None:
        self.path = Path(path) if path is not None else locations.db_path()
        self._db: Any = None
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

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over the same connection (imported on first use)."""
        if self._db is None:
            self._db = _import_sqlite_utils().Database(self.conn)
        return self._db

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def tx(self) -> Iterator[Any]:
        """One logical write: all of it is committed, or none of it. Yields sqlite-utils'
        Database (imported only if the block uses it)."""
        if self.conn.in_transaction:  # nested: part of the outer transaction
            yield _LazyDb(self)
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield _LazyDb(self)
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
                MIGRATIONS[version - 1](self.conn)
                self.conn.execute(f"PRAGMA user_version = {version}")

    def integrity_check(self) -> str:
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: changes when *another* connection commits (a cheap,
        in-memory check; no table is read)."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def table_names(self) -> list[str]:
        return [
            r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
        ]

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """A read as dicts, for modules that keep their own table (the lab's runs)."""
        cur = self.conn.execute(sql, tuple(params))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def insert(self, table: str, row: dict[str, Any]) -> int:
        """Insert one row (names are the caller's own constants); returns its rowid."""
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.tx():
            cur = self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))
        return int(cur.lastrowid or 0)

    # -- checklist

    def set_tick(self, item_id: str, done: bool) -> None:
        with self.tx():
            self.conn.execute(
                "INSERT INTO checklist_ticks(item_id, done, at) VALUES (?, ?, ?) "
                "ON CONFLICT(item_id) DO UPDATE SET done = excluded.done, at = excluded.at",
                (item_id, int(done), to_iso(utcnow())),
            )

    def ticks(self) -> dict[str, Tick]:
        return {
            r[0]: Tick(r[0], bool(r[1]), from_iso(r[2]))
            for r in self.conn.execute("SELECT item_id, done, at FROM checklist_ticks")
        }

    def recalled_questions(self, min_rating: int) -> set[str]:
        """Questions rated at least ``min_rating`` in a review or a question attempt."""
        rows = self.conn.execute(
            "SELECT DISTINCT item_id FROM review_log WHERE kind = 'question' AND rating >= ? "
            "UNION SELECT DISTINCT question_id FROM question_attempts WHERE rating >= ?",
            (min_rating, min_rating),
        )
        return {r[0] for r in rows}

    def has_completed_lab_runs(self) -> bool:
        """Is there a completed default (not --quick) lab run: checklist evidence to read?"""
        return (
            self.conn.execute(
                "SELECT 1 FROM lab_runs WHERE status = 'completed' AND quick = 0 LIMIT 1"
            ).fetchone()
            is not None
        )

    def record_figure_seen(self, kind: str, now: datetime | None = None) -> None:
        at = to_iso(now or utcnow())
        with self.tx():
            self.conn.execute(
                "INSERT INTO figures_seen(kind, first_at, last_at, count) VALUES (?, ?, ?, 1) "
                "ON CONFLICT(kind) DO UPDATE SET last_at = excluded.last_at, count = count + 1",
                (kind, at, at),
            )

    def figures_seen(self) -> dict[str, datetime]:
        """Figure kind → when it was first seen."""
        return {r[0]: from_iso(r[1]) for r in self.conn.execute("SELECT kind, first_at FROM figures_seen")}

    # -- exercises

    def record_exercise_attempt(self, exercise_id: str, code: str, result: dict[str, Any]) -> int:
        return self.insert(
            "exercise_attempts",
            {
                "exercise_id": exercise_id,
                "code": code,
                "status": str(result["status"]),
                "passed": int(result["passed"]),
                "total": int(result["total"]),
                "tests_json": json.dumps(result.get("tests", []), ensure_ascii=False),
                "duration_s": float(result.get("duration_s", 0.0)),
                "at": to_iso(utcnow()),
            },
        )

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
            for r in self.rows(sql, params)
        ]

    def exercise_summary(self) -> dict[str, ExerciseSummary]:
        out: dict[str, ExerciseSummary] = {}
        for eid, n, ok in self.conn.execute(
            "SELECT exercise_id, COUNT(*), MAX(status = 'pass') FROM exercise_attempts GROUP BY exercise_id"
        ):
            out[eid] = ExerciseSummary(n, bool(ok))
        for eid, passed, total in self.conn.execute(
            "SELECT exercise_id, passed, total FROM exercise_attempts a WHERE id = ("
            " SELECT id FROM exercise_attempts b WHERE b.exercise_id = a.exercise_id"
            " ORDER BY CAST(passed AS REAL) / MAX(total, 1) DESC, id DESC LIMIT 1)"
        ):
            out[eid].best = {"passed": passed, "total": total}
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
        self,
        question_id: str,
        answer_text: str,
        recalled: Iterable[int],
        total_points: int,
        rating: int | None,
        *,
        at: datetime | None = None,
    ) -> int:
        return self.insert(
            "question_attempts",
            {
                "question_id": question_id,
                "answer_text": answer_text,
                "recalled_json": json.dumps(sorted(set(recalled))),
                "total_points": total_points,
                "rating": rating,
                "at": to_iso(at or utcnow()),
            },
        )

    def delete_question_attempt(self, attempt_id: int) -> None:
        with self.tx():
            self.conn.execute("DELETE FROM question_attempts WHERE id = ?", (attempt_id,))

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
            for r in self.rows(sql, params)
        ]

    # -- item states (studytool.srs.states)

    def state_row(self, item_id: str) -> dict[str, Any] | None:
        rows = self.rows("SELECT * FROM item_state WHERE item_id = ?", (item_id,))
        return rows[0] if rows else None

    def state_rows(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM item_state")

    def write_state(self, row: dict[str, Any]) -> None:
        """Insert or replace one item's state row (``STATE_COLUMNS``; ``last_review`` is taken
        from the card when the row has none, e.g. a row saved before migration 5)."""
        row = dict(row)
        if "last_review" not in row:
            try:
                row["last_review"] = json.loads(row["card_json"]).get("last_review")
            except (ValueError, AttributeError):
                row["last_review"] = None
        unknown = set(row) - set(STATE_COLUMNS)
        if unknown:
            raise ValueError(f"unknown item_state column(s): {', '.join(sorted(unknown))}")
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.tx():
            self.conn.execute(
                f"INSERT OR REPLACE INTO item_state ({cols}) VALUES ({marks})", tuple(row.values())
            )

    def delete_state(self, item_id: str) -> None:
        with self.tx():
            self.conn.execute("DELETE FROM item_state WHERE item_id = ?", (item_id,))

    def queue_rows(self, *, with_stability: bool = False) -> dict[str, QueueRow]:
        """item_id → what the queue needs; ``with_stability`` adds fsrs' stability (cram)."""
        extra = "json_extract(card_json, '$.stability')" if with_stability else "NULL"
        cur = self.conn.execute(
            "SELECT item_id, due, state, suspended, buried_until, last_review IS NULL, "
            f"{extra}, last_review FROM item_state"
        )
        make = tuple.__new__  # the columns are QueueRow's, in order: no per-row Python __new__
        return {r[0]: make(QueueRow, r) for r in cur}

    def suspended_ids(self) -> list[str]:
        return [
            r[0] for r in self.conn.execute("SELECT item_id FROM item_state WHERE suspended = 1 ORDER BY 1")
        ]

    def buried_ids(self, now: datetime) -> list[str]:
        """Items buried until after ``now`` (and not suspended)."""
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT item_id FROM item_state WHERE suspended = 0 AND buried_until IS NOT NULL "
                "AND buried_until > ? ORDER BY item_id",
                (to_iso(now),),
            )
        ]

    def held_rows(self, now: datetime) -> list[tuple[str, str, bool, str | None]]:
        """(item_id, kind, suspended, buried_until) of every suspended or currently buried item."""
        return [
            (r[0], r[1], bool(r[2]), r[3])
            for r in self.conn.execute(
                "SELECT item_id, kind, suspended, buried_until FROM item_state "
                "WHERE suspended = 1 OR (buried_until IS NOT NULL AND buried_until > ?)",
                (to_iso(now),),
            )
        ]

    # -- the review log

    def insert_review(
        self,
        item_id: str,
        kind: str,
        rating: int,
        reviewed_at: datetime,
        duration_ms: int | None,
        prev_card_json: str | None,
        card_json: str,
    ) -> int:
        return self.insert(
            "review_log",
            {
                "item_id": item_id,
                "kind": kind,
                "rating": int(rating),
                "reviewed_at": to_iso(reviewed_at),
                "duration_ms": duration_ms,
                "prev_card_json": prev_card_json,
                "card_json": card_json,
            },
        )

    def delete_review(self, log_id: int) -> None:
        with self.tx():
            self.conn.execute("DELETE FROM review_log WHERE id = ?", (log_id,))

    def review_log(self, item_id: str | None = None) -> list[LogRow]:
        """The log (of one item), oldest first."""
        sql = f"SELECT {_LOG_COLUMNS} FROM review_log"
        params: tuple[Any, ...] = ()
        if item_id is not None:
            sql += " WHERE item_id = ?"
            params = (item_id,)
        sql += " ORDER BY reviewed_at, id"
        return [LogRow(*r) for r in self.conn.execute(sql, params)]

    def logs_by_item(self) -> dict[str, list[LogRow]]:
        """Every item's log rows, oldest first."""
        out: dict[str, list[LogRow]] = {}
        for r in self.conn.execute(
            f"SELECT {_LOG_COLUMNS} FROM review_log ORDER BY item_id, reviewed_at, id"
        ):
            out.setdefault(r[1], []).append(LogRow(*r))
        return out

    def has_reviews(self) -> bool:
        return self.conn.execute("SELECT 1 FROM review_log LIMIT 1").fetchone() is not None

    def review_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM review_log").fetchone()[0])

    def reviews_in_log_order(self) -> list[tuple[str, int, str, int | None]]:
        """(item_id, rating, reviewed_at, duration_ms) of every review, in the order written."""
        return list(
            self.conn.execute("SELECT item_id, rating, reviewed_at, duration_ms FROM review_log ORDER BY id")
        )

    def new_introduced_since(self, since: datetime) -> int:
        """Items reviewed for the first time at or after ``since`` (new cards introduced)."""
        return int(
            self.conn.execute(
                "SELECT COUNT(*) FROM review_log WHERE reviewed_at >= ? AND prev_card_json IS NULL",
                (to_iso(since),),
            ).fetchone()[0]
        )

    def review_times_since(self, since: datetime) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT reviewed_at FROM review_log WHERE reviewed_at >= ?", (to_iso(since),)
            )
        ]

    def totals_since(self, since: datetime) -> tuple[int, int, int, int, int]:
        """(reviews, new items, agains, distinct items, milliseconds spent) logged at or after
        ``since``."""
        r = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(prev_card_json IS NULL), 0), COALESCE(SUM(rating = 1), 0), "
            "COUNT(DISTINCT item_id), COALESCE(SUM(duration_ms), 0) FROM review_log WHERE reviewed_at >= ?",
            (to_iso(since),),
        ).fetchone()
        return int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4])

    def reviews_of_state_since(self, since: datetime, state: int) -> list[tuple[str, int, str]]:
        """(item_id, rating, reviewed_at) of reviews at or after ``since`` of items that were in
        fsrs ``state`` when reviewed, oldest first."""
        return list(
            self.conn.execute(
                "SELECT item_id, rating, reviewed_at FROM review_log WHERE reviewed_at >= ? "
                "AND json_extract(prev_card_json, '$.state') = ? ORDER BY reviewed_at, id",
                (to_iso(since), int(state)),
            )
        )

    def review_time_buckets(self, width: int) -> list[str]:
        """The distinct first ``width`` characters of every review time (hours: 13, minutes: 16)."""
        return [
            r[0]
            for r in self.conn.execute(
                f"SELECT DISTINCT substr(reviewed_at, 1, {int(width)}) FROM review_log"
            )
        ]

    def logged_item_ids(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT DISTINCT item_id FROM review_log")}

    # -- scheduler settings (scheduler_meta)

    def meta_get(self, key: str) -> Any:
        row = self.conn.execute("SELECT value FROM scheduler_meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def meta_set(self, key: str, value: Any) -> None:
        with self.tx():
            self.conn.execute(
                "INSERT INTO scheduler_meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    def review_totals_by_item(self) -> dict[str, tuple[int, int]]:
        """item_id → (reviews, lapses: Again while in review state)."""
        return {
            r[0]: (int(r[1]), int(r[2]))
            for r in self.conn.execute(
                "SELECT item_id, COUNT(*), "
                "COALESCE(SUM(rating = 1 AND json_extract(prev_card_json, '$.state') = 2), 0) "
                "FROM review_log GROUP BY item_id"
            )
        }
