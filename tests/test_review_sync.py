"""Issue 11, bug 4: the app and the CLI side by side on one store, in two real processes.

A ReviewSession stays open in this process (as the app's Review screen does) while
``studytool review --plain`` rates in a subprocess. The session must pick the change up before it
shows the next item (PRAGMA data_version), recompute the intervals it shows, and a rating it
writes must be computed from the state as stored at that moment — so ``doctor`` finds no drift.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from studytool import scheduler as sch
from studytool.content import default_content
from studytool.review import ReviewSession
from studytool.store import Store


@pytest.fixture(scope="module")
def content():
    c, _ = default_content()
    return c


def cli_review(home, keys: str, *args: str) -> str:
    """`studytool review --plain` in another process, on the same store."""
    env = {**os.environ, "STUDYTOOL_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-m", "studytool", "review", "--plain", "--lang", "en", *args],
        input=keys,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def log_rows(store: Store, item_id: str) -> list[tuple[int, str | None, str]]:
    return [
        tuple(r)
        for r in store.conn.execute(
            "SELECT rating, prev_card_json, card_json FROM review_log WHERE item_id = ? ORDER BY id",
            (item_id,),
        )
    ]


def test_rating_in_the_app_after_the_cli_rated_the_same_card_keeps_the_log_and_schedule_in_step(
    studytool_home, content
):
    with Store() as store:
        session = ReviewSession(store, content)
        shown = session.next()
        first = shown.item.id
        before = session.reveal()  # the app shows the intervals of a new card
        assert before[3].label == "10m"

        out = cli_review(studytool_home, "\n3\n", "--limit", "1")  # the CLI rates it Good
        assert f" {first} " in out and "→ Good: 10m" in out
        assert session.changed_since()

        rated = session.rate(3)  # the learner rates it in the app too, with the old preview shown
        assert rated.recomputed, "the rating must be computed from the state the CLI stored"
        assert rated.label != "10m"  # Good on a card already in its 10m step graduates it

        rows = log_rows(store, first)
        assert [r[0] for r in rows] == [3, 3]
        assert rows[1][1] == rows[0][2], "the app's review must follow the CLI's in the log"
        state = sch.load_state(store, first)
        assert state.card.to_json() == rows[1][2]
        assert sch.doctor_check(store, content) == []

        nxt = session.next()
        assert nxt is not None and nxt.item.id != first


def test_the_session_notices_a_cli_rating_before_it_shows_the_next_item(studytool_home, content):
    with Store() as store:
        session = ReviewSession(store, content)
        a = session.next()  # on screen, not revealed yet
        start = session.counts()
        cli_review(studytool_home, "\n3\n", "--limit", "1")  # the CLI rates that same item Good
        assert session.changed_elsewhere == 0  # nothing read yet: the check is lazy

        b = session.next()
        assert session.changed_elsewhere == 1
        # the item the CLI just rated is in its 10-minute step, not due: it is not shown again
        assert b.item.id != a.item.id
        assert sch.load_state(store, a.item.id).card.due > session.clock()
        # the queue was rebuilt from the store: the CLI's new item counts against today's limit
        # and its learning step is waiting
        after = session.counts()
        assert after.new == start.new - 1 and after.learning == 1

        # the new current item is rated from its own stored state; no drift anywhere
        session.reveal()
        session.rate(3)
        assert sch.doctor_check(store, content) == []


class Clock:
    """The real time, frozen on request (the CLI in the other process uses the real time)."""

    def __init__(self) -> None:
        self.t = None

    def __call__(self):
        return self.t or sch.utcnow()


def test_revealed_intervals_are_recomputed_when_the_stored_state_changed(studytool_home, content):
    clock = Clock()
    with Store() as store:
        session = ReviewSession(store, content, clock=clock)
        a = session.next()
        assert session.reveal()[3].label == "10m"
        cli_review(studytool_home, "\n3\n", "--limit", "1")
        clock.t = sch.utcnow()
        again = session.reveal()  # shown again (the app redraws): from the stored state now
        stored = sch.load_state(store, a.item.id).card
        expected = sch.preview(session.scheduler, stored, session.clock())
        assert {r: c.due for r, c in again.items()} == {r: o.due for r, o in expected.items()}
        assert again[3].label != "10m"
        rated = session.rate(3)
        assert rated.due == again[3].due  # the interval shown (after the refresh) is stored
        assert sch.doctor_check(store, content) == []


def test_own_writes_do_not_count_as_changes_made_elsewhere(content):
    with Store() as store:
        session = ReviewSession(store, content)
        for rating in (3, 1, 4):
            session.next()
            session.reveal()
            session.rate(rating)
        session.next()
        assert session.changed_elsewhere == 0 and not session.changed_since()


def test_undo_refuses_to_throw_away_a_review_made_elsewhere(content):
    with Store() as store, Store() as other:
        session = ReviewSession(store, content)
        cur = session.next()
        session.reveal()
        session.rate(1)
        sch.rate(other, cur.item, 3)  # another process reviews it after the app did
        mine = log_rows(store, cur.item.id)
        with pytest.raises(sch.ChangedElsewhere):
            session.undo()
        assert log_rows(store, cur.item.id) == mine  # nothing was undone
        assert sch.doctor_check(store, content) == []


def test_apply_rating_rereads_the_state_under_the_write_lock(content):
    """The last line of defence, below the session: a change that lands between the preview and
    the write (after any data_version check) is caught inside the writing transaction."""
    item = sch.review_items(content)[0]
    now = sch.utcnow()
    with Store() as store, Store() as other:
        scheduler = sch.current_scheduler(store)
        card = sch.new_card(item.id, now)
        stale = sch.preview(scheduler, card, now)[3]
        sch.rate(other, item, 3, now=now)  # lands after the preview
        record = sch.apply_rating(store, item, 3, stale, now=now, expected=card, scheduler=scheduler)
        assert record.recomputed and record.outcome.card.to_json() != stale.card.to_json()
        assert sch.doctor_check(store, content) == []


def test_the_plain_cli_notices_a_rating_made_in_the_app_while_it_waits(studytool_home, content):
    """The other way round: `review --plain` shows a card and waits for Enter; meanwhile the app
    rates that card. After Enter the CLI shows intervals computed from the stored state."""
    env = {**os.environ, "STUDYTOOL_HOME": str(studytool_home)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "studytool", "review", "--plain", "--lang", "en", "--limit", "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:

        def read_until(end: str) -> list[str]:
            lines = []
            while True:
                line = proc.stdout.readline()
                assert line, "the CLI ended early: " + "".join(lines) + proc.stderr.read()
                lines.append(line.rstrip("\n"))
                if line.rstrip("\n").endswith(end):
                    return lines

        front = read_until("Enter to reveal >")
        header = next(x for x in front if x.startswith("── "))
        with Store() as store:
            session = ReviewSession(store, content)
            cur = session.next()
            assert f" {cur.item.id} " in header  # both show the same first card
            session.reveal()
            session.rate(3)  # the app rates it Good first
        proc.stdin.write("\n")
        proc.stdin.flush()
        back = read_until(">")
        rate_line = back[-1]
        assert rate_line.startswith("Rate:")
        assert any(x.startswith("Updated from another window") for x in back)
        assert "3 Good 10m" not in rate_line  # no longer a new card's intervals
        proc.stdin.write("3\n")
        proc.stdin.close()
        out = proc.stdout.read()
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "→ Good: " in out
    with Store() as store:
        rows = log_rows(store, cur.item.id)
        assert [r[0] for r in rows] == [3, 3] and rows[1][1] == rows[0][2]
        assert sch.doctor_check(store, content) == []
