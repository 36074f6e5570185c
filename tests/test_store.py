"""The progress store: migrations, transactions, and surviving SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from studytool.store import MIGRATIONS, SCHEMA_VERSION, Store, StoreError


def _tables(store: Store) -> set[str]:
    return set(store.db.table_names())


def test_fresh_store_is_at_latest_version(tmp_path):
    with Store(tmp_path / "s.db") as store:
        assert store.version == SCHEMA_VERSION
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert {
            "item_state",
            "review_log",
            "question_attempts",
            "exercise_attempts",
            "checklist_ticks",
            "hints_shown",
        } <= _tables(store)


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION + 1))
def test_each_migration_from_the_version_before(tmp_path, version):
    path = tmp_path / "s.db"
    with Store(path, migrate=False) as store:
        store.migrate(version - 1)
        assert store.version == version - 1
        if version - 1 >= 1:  # data written under the old schema
            store.record_exercise_attempt(
                "causal_mask",
                "code",
                {"status": "pass", "passed": 3, "total": 3, "tests": [], "duration_s": 0.5},
            )
            store.set_tick("t01", True)
    with Store(path, migrate=False) as store:
        store.migrate(version)
        assert store.version == version
        assert store.integrity_check() == "ok"
        if version - 1 >= 1:
            assert store.exercise_summary()["causal_mask"].passed
            assert store.ticks()["t01"].done
    if MIGRATIONS[version - 1].__name__ == "_v2":
        with Store(path) as store:
            names = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
            assert "review_log_item" in names


def test_newer_store_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this studytool"):
        Store(path)


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(RuntimeError):
            with store.tx() as db:
                db["checklist_ticks"].insert({"item_id": "t02", "done": 1, "at": "x"})
                raise RuntimeError("crash in the middle")
        assert "t02" not in store.ticks()


WRITER = textwrap.dedent("""
    import sys
    from studytool.store import Store
    store = Store(sys.argv[1])
    i = 0
    while True:
        store.record_exercise_attempt("ex", "code %d" % i, {
            "status": "fail", "passed": i, "total": 10**9, "tests": [{"name": "t", "status": "fail",
            "message": "x" * 2000}], "duration_s": 0.1})
        store.set_tick("t%02d" % (i % 21), bool(i % 2))
        # report only after the commit returned: everything printed must survive
        print(i, flush=True)
        i += 1
""")


def test_sigkill_during_a_burst_of_writes_loses_no_committed_write(tmp_path):
    path = tmp_path / "s.db"
    Store(path).close()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    acknowledged = -1
    deadline = time.monotonic() + 20
    assert proc.stdout is not None
    while acknowledged < 150 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        acknowledged = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert acknowledged >= 150, "the writer did not get going"
    with Store(path) as store:
        assert store.integrity_check() == "ok"
        passed = {a.passed for a in store.exercise_attempts("ex")}
        # every acknowledged attempt is there; at most the one in flight beyond it
        assert set(range(acknowledged + 1)) <= passed
        assert max(passed) <= acknowledged + 1


OPENER = textwrap.dedent("""
    import sys, time
    from studytool.store import Store
    while time.time() < float(sys.argv[2]):  # start together
        pass
    with Store(sys.argv[1]) as store:
        store.set_tick(sys.argv[3], True)
""")


def test_processes_opening_a_new_store_together_migrate_it_once(tmp_path):
    """The app and a `studytool check` started at once on a fresh data directory."""
    for attempt in range(3):
        path = tmp_path / f"s{attempt}.db"
        start = time.time() + 1.5
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPENER, str(path), str(start), f"t{i:02d}"],
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(1, 5)
        ]
        errors = [p.communicate(timeout=60)[1] for p in procs]
        assert all(p.returncode == 0 for p in procs), errors
        with Store(path) as store:
            assert store.version == SCHEMA_VERSION
            assert set(store.ticks()) == {"t01", "t02", "t03", "t04"}
