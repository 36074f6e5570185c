"""The app and the CLI side by side on one store, in two real processes.

A ReviewSession stays open in this process (as the app's Review screen does) while
``studytool review --plain`` rates in a subprocess. One card shown in both and rated in both is
reviewed once: a rating of an item whose stored state changed since it was shown is not applied
(the session says "already reviewed elsewhere" and moves on); the session picks up the other's
writes before it shows the next item (PRAGMA data_version); ``doctor`` finds no drift.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from studytool import srs as sch
from studytool.content import default_content
from studytool.review import ReviewSession
from studytool.store import Store, utcnow


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


def test_a_card_rated_in_the_cli_while_the_app_shows_it_is_not_rated_again_in_the_app(
    studytool_home, content
):
    """The walkthrough's bug 2: the same card shown in two windows and rated in both a second
    apart gave two log rows."""
    with Store() as store:
        session = ReviewSession(store, content)
        shown = session.next()
        first = shown.item.id
        before = session.reveal()  # the app shows the intervals of a new card
        assert before[3].label == "10m"

        out = cli_review(studytool_home, "\n3\n", "--limit", "1")  # the CLI rates it Good
        assert f" {first} " in out and "→ Good: 10m" in out
        assert session.changed_since()
        assert session.reveal() == before  # what is on screen stays what it was

        rated = session.rate(4)  # the learner rates it in the app too
        assert not rated.applied and rated.due is None
        assert rated.status("en") == f"Not applied: {shown.title('en')} was already reviewed elsewhere"
        assert "已经在别处复习过了" in rated.status("zh")
        rows = log_rows(store, first)
        assert [r[0] for r in rows] == [3], "one card, one review"
        assert sch.load_state(store, first).card.to_json() == rows[0][2]
        assert sch.doctor_check(store, content) == []
        assert not session.can_undo  # nothing was done here to undo

        nxt = session.next()  # it moves on
        assert nxt is not None and nxt.item.id != first
        sm = session.summary()
        assert sm.rated == 0 and sm.not_applied == 1


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
        return self.t or utcnow()


def test_a_card_shown_here_and_rated_elsewhere_before_the_reveal_is_put_away(studytool_home, content):
    clock = Clock()
    with Store() as store:
        session = ReviewSession(store, content, clock=clock)
        a = session.next()  # on screen, not revealed
        cli_review(studytool_home, "\n3\n", "--limit", "1")
        clock.t = utcnow()
        b = session.next()
        notices = [n.key for n in session.notices()]
        assert "review.dropped_elsewhere" in notices and b.item.id != a.item.id
        assert [r[0] for r in log_rows(store, a.item.id)] == [3]


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
    the write (after any data_version check) is caught inside the writing transaction, and
    nothing is written."""
    item = sch.review_items(content)[0]
    now = utcnow()
    with Store() as store, Store() as other:
        scheduler = sch.current_scheduler(store)
        card = sch.new_card(item.id, now)
        stale = sch.preview(scheduler, card, now)[3]
        sch.rate(other, item, 3, now=now)  # lands after the preview
        before = (store.review_log(item.id), store.state_row(item.id))
        with pytest.raises(sch.AlreadyReviewed):
            sch.apply_rating(store, item, 3, stale, now=now, expected=card)
        assert (store.review_log(item.id), store.state_row(item.id)) == before
        assert sch.doctor_check(store, content) == []


def test_the_plain_cli_notices_a_rating_made_in_the_app_while_it_waits(studytool_home, content):
    """The other way round: `review --plain` shows a card and waits for Enter; meanwhile the app
    rates that card. The CLI's rating is then not applied, and it says so."""
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
        assert back[-1].startswith("Rate:")
        assert any(x.startswith("Updated from another window") for x in back)
        proc.stdin.write("3\n")
        proc.stdin.close()
        out = proc.stdout.read()
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    flat = " ".join(out.split())
    assert "was already reviewed elsewhere." in flat and "→ Good: " not in flat
    with Store() as store:
        rows = log_rows(store, cur.item.id)
        assert [r[0] for r in rows] == [3], "one card, one review"
        assert sch.doctor_check(store, content) == []
