"""The progress store's schema: one migration per version (``PRAGMA user_version``), each run in
its own transaction by :meth:`studytool.store.Store.migrate`. A migration never loses a row: a
store of any earlier version moves forward with everything it held."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Conn = sqlite3.Connection


def _v1(db: Conn) -> None:
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


def _v2(db: Conn) -> None:
    # Indexes for the queries that grow with history: the log by item and by day, attempts by exercise.
    db.execute("CREATE INDEX review_log_item ON review_log(item_id, reviewed_at)")
    db.execute("CREATE INDEX review_log_time ON review_log(reviewed_at)")
    db.execute("CREATE INDEX item_state_due ON item_state(due)")
    db.execute("CREATE INDEX exercise_attempts_ex ON exercise_attempts(exercise_id, at)")


def _v3(db: Conn) -> None:
    # Scheduling settings (studytool.srs): the fsrs parameters fitted by `optimize`, and the
    # scheduler (parameters, retention, steps) the stored item states were computed with.
    db.execute("""
        CREATE TABLE scheduler_meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL              -- JSON
        )""")


def _v4(db: Conn) -> None:
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


def _v5(db: Conn) -> None:
    # "Never reviewed" as a column (it was a substring of fsrs' JSON formatting), filled from the
    # stored cards; and the figures the learner has looked at (checklist evidence for "draw" and
    # "visualise" items).
    db.execute("ALTER TABLE item_state ADD COLUMN last_review TEXT")  # ISO UTC; NULL: never reviewed
    db.execute(
        "UPDATE item_state SET last_review = "
        "CASE WHEN json_valid(card_json) THEN json_extract(card_json, '$.last_review') END"
    )
    db.execute("""
        CREATE TABLE figures_seen (
            kind TEXT PRIMARY KEY,           -- content.FIGURE_KINDS
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            count INTEGER NOT NULL
        )""")


MIGRATIONS: list[Callable[[Conn], None]] = [_v1, _v2, _v3, _v4, _v5]
SCHEMA_VERSION = len(MIGRATIONS)

STATE_COLUMNS = (
    "item_id",
    "kind",
    "card_json",
    "due",
    "state",
    "suspended",
    "buried_until",
    "updated_at",
    "last_review",
)
