"""Review benchmark: a store with 10,000 items and 100,000 review-log rows.

Measures
- queue build: opening a review session (settings check + the queue) — goal under 100 ms;
- rating → next item: from pressing a rating to the next item shown with its four intervals
  (the rating and its log row committed with fsync) — goal under 50 ms;
- the check for writes by another process made before each item (PRAGMA data_version), beside a
  bare ``SELECT 1``; and rating → next item when another process wrote meanwhile, so the session
  rebuilds its queue — goal under 100 ms, as a queue build.
Also prints stats and doctor (full rebuild from the log) times for reference.

    .venv/bin/python benchmarks/bench_review.py [--items 10000] [--reviews-per-item 10]

Uses a temporary STUDYTOOL_HOME; the learner's own data is never touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--reviews-per-item", type=int, default=10)
    ap.add_argument("--ratings", type=int, default=200, help="ratings to time")
    ap.add_argument("--keep", action="store_true", help="keep the temporary store")
    args = ap.parse_args()

    home = tempfile.mkdtemp(prefix="studytool-bench-")
    os.environ["STUDYTOOL_HOME"] = home

    from fsrs import Card as FsrsCard
    from fsrs import Rating

    from studytool import srs as sch
    from studytool.config import Config
    from studytool.content import Card, Content, Text
    from studytool.review import ReviewSession
    from studytool.stats import review_stats
    from studytool.store import STATE_COLUMNS, Store, to_iso, utcnow

    topics = ("position-encoding", "architecture", "efficiency", "parallelism-future")
    cards = [
        Card(
            id=f"card-{i:05d}",
            type="basic",
            topic=topics[i % 4],
            deck="bench",
            front=Text(f"front {i}", f"正面 {i}"),
            back=Text(f"back {i}", f"背面 {i}"),
        )
        for i in range(args.items)
    ]
    content = Content(cards=cards)
    config = Config()

    # ---- build the store: each item has a history of reviews ten days apart; the last reviews
    # are spread over the last 40 days, so a few hundred fall on today (a realistic day)
    t0 = time.perf_counter()
    now = utcnow()
    scheduler = sch.make_scheduler(config)
    log_rows, state_rows = [], []
    rating_cycle = [3, 3, 2, 3, 1, 3, 4, 3, 3, 2]
    n = args.reviews_per_item
    for i, c in enumerate(cards):
        last = now - timedelta(days=i % 40, hours=1 + i % 23, minutes=i % 59)
        card = FsrsCard(card_id=sch.card_id_for(c.id), due=last)
        prev_json = None
        for k in range(n):
            at = last - timedelta(days=10 * (n - 1 - k))
            rating = Rating(rating_cycle[(i + k) % len(rating_cycle)])
            card, _ = scheduler.review_card(card, rating, review_datetime=at)
            cj = card.to_json()
            log_rows.append((c.id, "card", int(rating), to_iso(at), 4000, prev_json, cj))
            prev_json = cj
        state_rows.append(
            (
                c.id,
                "card",
                card.to_json(),
                to_iso(card.due),
                int(card.state),
                0,
                None,
                to_iso(now),
                to_iso(card.last_review) if card.last_review else None,
            )
        )
    store = Store()
    with store.tx():
        store.conn.executemany(
            "INSERT INTO review_log(item_id, kind, rating, reviewed_at, duration_ms, "
            "prev_card_json, card_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            log_rows,
        )
        # the benchmark seeds the tables directly (100,000 rows through the store's one-row
        # methods would take minutes); the columns are the store's own
        cols = ", ".join(STATE_COLUMNS)
        store.conn.executemany(
            f"INSERT INTO item_state ({cols}) VALUES ({', '.join('?' for _ in STATE_COLUMNS)})", state_rows
        )
        store.meta_set("applied_scheduler", scheduler.to_dict())
    store.conn.execute("ANALYZE")
    n_logs = store.conn.execute("SELECT COUNT(*) FROM review_log").fetchone()[0]
    n_items = store.conn.execute("SELECT COUNT(*) FROM item_state").fetchone()[0]
    print(
        f"store: {n_items} items, {n_logs} log rows, built in {time.perf_counter() - t0:.1f} s "
        f"({Path(home) / 'progress.sqlite3'})"
    )

    # ---- queue build
    builds = []
    for _ in range(7):
        t = time.perf_counter()
        session = ReviewSession(store, content, config=config)
        builds.append(time.perf_counter() - t)
    counts = session.counts()
    print(f"queue: {counts.review} review, {counts.learning} learning, {counts.new} new")

    # ---- rating → next item (with its four intervals)
    session.next()
    session.reveal()
    gaps = []
    for k in range(args.ratings):
        t = time.perf_counter()
        session.rate((3, 3, 1, 4, 2)[k % 5])
        if session.next() is None:
            break
        session.reveal()
        gaps.append(time.perf_counter() - t)
    undo_t = []
    for _ in range(20):
        t = time.perf_counter()
        session.undo()
        undo_t.append(time.perf_counter() - t)

    # ---- the check before each item for writes by another process (PRAGMA data_version),
    # side by side with the cheapest possible query on the same connection
    check_t, select_t = [], []
    for _ in range(2000):
        t = time.perf_counter()
        session.changed_since()
        check_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.conn.execute("SELECT 1").fetchone()
        select_t.append(time.perf_counter() - t)

    # ---- rating → next item when another process wrote meanwhile (the queue is rebuilt)
    other = Store()
    ids = list(session.items)
    synced = []
    session.reveal()
    for k in range(20):
        sch.bury(other, ids[-1 - k], now=utcnow(), config=config)  # the other process writes
        t = time.perf_counter()
        session.rate(3)
        if session.next() is None:
            break
        session.reveal()
        synced.append(time.perf_counter() - t)
    other.close()

    t = time.perf_counter()
    stats = review_stats(store, content, config=config)
    stats_t = time.perf_counter() - t
    t = time.perf_counter()
    problems = sch.doctor_check(store, content)
    doctor_t = time.perf_counter() - t
    store.close()

    def ms(x: float) -> str:
        return f"{x * 1000:.1f} ms"

    def p95(xs: list[float]) -> float:
        return sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]

    print(
        f"queue build (session open): first {ms(builds[0])}, median {ms(statistics.median(builds))}"
        f", max {ms(max(builds))}  [goal < 100 ms]"
    )
    print(
        f"rating → next item: median {ms(statistics.median(gaps))}, p95 {ms(p95(gaps))}, "
        f"max {ms(max(gaps))} over {len(gaps)} ratings  [goal < 50 ms]"
    )
    print(f"undo: median {ms(statistics.median(undo_t))}")
    print(
        f"data_version check: median {statistics.median(check_t) * 1e6:.1f} µs "
        f"(SELECT 1 on the same connection: {statistics.median(select_t) * 1e6:.1f} µs)"
    )
    print(
        f"rating → next item after another process wrote (queue rebuilt): median "
        f"{ms(statistics.median(synced))}, max {ms(max(synced))} over {len(synced)}  "
        "[goal < 100 ms, as a queue build]"
    )
    print(f"stats: {ms(stats_t)} ({stats['reviews']} reviews)")
    print(f"doctor (rebuild every item from the log): {doctor_t:.2f} s, {len(problems)} problems")
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    ok = max(builds) < 0.1 and statistics.median(gaps) < 0.05 and statistics.median(synced) < 0.1
    print("goals met" if ok else "GOALS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
