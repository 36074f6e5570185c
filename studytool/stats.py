"""Progress statistics: the review part (counts, forecast, true retention, streak) and the rest of
``stats --json`` (exercises, checklist). Facts only; the CLI and the app word them."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from fsrs import State

from studytool.config import Config, load_config
from studytool.srs.fsrs_adapter import day_start, study_day
from studytool.srs.items import review_items
from studytool.srs.queue import review_counts
from studytool.store import Store, from_iso, utcnow


class CardCounts(TypedDict):
    total: int
    new: int
    due: int
    learning: int
    review: int


class TodayCounts(TypedDict):
    reviews: int
    new: int
    again: int


class TopicStats(TypedDict):
    items: int
    retention_30d: float | None


class ReviewStats(TypedDict):
    """The review and scheduling part of ``stats --json`` (its keys are the JSON's)."""

    cards: CardCounts
    queue: dict[str, int]
    reviews: int
    today: TodayCounts
    retention_30d: float | None
    forecast_30d: list[int]
    reviews_per_day_30d: list[int]
    streak_days: int
    topics: dict[str, TopicStats]


@dataclass(frozen=True)
class DayTotals:
    """What the log holds for the study day so far (Anki's "studied N cards in M minutes today")."""

    reviews: int  # ratings
    cards: int  # distinct items rated
    new: int  # items introduced
    again: int
    seconds: float  # time spent on them (the durations the sessions measured)


def day_totals(store: Store, now: datetime | None = None, config: Config | None = None) -> DayTotals:
    now = now or utcnow()
    reviews, new, again, cards, ms = store.totals_since(day_start(now, config or load_config()))
    return DayTotals(reviews, cards, new, again, ms / 1000.0)


def _retention(first_of_day: Iterable[int]) -> float | None:
    ratings = list(first_of_day)
    if not ratings:
        return None
    return round(sum(1 for r in ratings if r != 1) / len(ratings), 4)


def reviews_per_day(store: Store, now: datetime, config: Config, days: int = 30) -> list[int]:
    """Ratings per study day over the last ``days`` days, oldest first (today last)."""
    today = study_day(now, config)
    since = day_start(now, config) - timedelta(days=days - 1)
    counts = [0] * days
    for at in store.review_times_since(since):
        back = (today - study_day(from_iso(at), config)).days
        if 0 <= back < days:
            counts[days - 1 - back] += 1
    return counts


def streak_days(store: Store, now: datetime, config: Config) -> int:
    """Study days in a row with at least one review, ending today (or yesterday, before today's
    first review)."""
    # an hour of UTC lies within one local study day when the local offset is whole hours (almost
    # every zone); otherwise group by minute
    offset = now.astimezone().utcoffset() or timedelta(0)
    width, suffix = (13, ":00:00+00:00") if offset % timedelta(hours=1) == timedelta(0) else (16, ":00+00:00")
    days = {study_day(datetime.fromisoformat(b + suffix), config) for b in store.review_time_buckets(width)}
    streak = 0
    day = study_day(now, config)
    if day not in days:
        day -= timedelta(days=1)
    while day in days:
        streak += 1
        day -= timedelta(days=1)
    return streak


def review_stats(
    store: Store, content: Any, now: datetime | None = None, config: Config | None = None
) -> ReviewStats:
    """The review and scheduling part of ``stats --json``.

    ``cards.due`` and ``queue`` (new / learning / review) are :func:`review_counts`: exactly what
    a review session started now would show.
    ``retention_30d`` is true retention as Anki counts it: the first review of the day of items
    that were in review state, over the last 30 days; Again is a fail; None without data.
    """
    now = now or utcnow()
    config = config or load_config()
    items = review_items(content)
    topic_of = {it.id: it.topic for it in items}
    today_start = day_start(now, config)
    end_today = today_start + timedelta(days=1)

    counts: CardCounts = {"total": len(items), "new": 0, "due": 0, "learning": 0, "review": 0}
    forecast = [0] * 30
    rows = store.queue_rows()
    for it in items:
        r = rows.get(it.id)
        if r is None or r.is_new:
            counts["new"] += 1
            continue
        counts["review" if r.state == State.Review else "learning"] += 1
        if r.suspended:
            continue  # suspended: neither due nor forecast
        due = from_iso(r.due)
        day = 0 if due < end_today else math.floor((due - today_start) / timedelta(days=1))
        if day < 30:
            forecast[day] += 1

    # "due": what a review session started now would show (learning + review), from the queue —
    # the one definition Review and Today share (review_counts)
    queue = review_counts(store, content, now=now, config=config)
    counts["due"] = queue.due_now

    reviews_today, new_today, again_today, _, _ = store.totals_since(today_start)

    first: dict[tuple[str, Any], int] = {}
    for item_id, rating, at in store.reviews_of_state_since(
        today_start - timedelta(days=29), int(State.Review)
    ):
        first.setdefault((item_id, study_day(from_iso(at), config)), rating)
    by_topic: dict[str, list[int]] = {}
    for (item_id, _), rating in first.items():
        if item_id in topic_of:
            by_topic.setdefault(topic_of[item_id], []).append(rating)

    topics: dict[str, TopicStats] = {}
    for it in items:
        topics.setdefault(it.topic, {"items": 0, "retention_30d": None})["items"] += 1
    for topic, ratings in by_topic.items():
        topics[topic]["retention_30d"] = _retention(ratings)

    return {
        "cards": counts,
        "queue": queue.to_json(),
        "reviews": store.review_count(),
        "today": {"reviews": reviews_today, "new": new_today, "again": again_today},
        "retention_30d": _retention(first.values()),
        "forecast_30d": forecast,
        "reviews_per_day_30d": reviews_per_day(store, now, config),
        "streak_days": streak_days(store, now, config),
        "topics": topics,
    }


def compute_stats(
    store: Store, content: Any, *, now: datetime | None = None, config: Config | None = None
) -> dict[str, Any]:
    """Everything ``stats --json`` prints; ``now`` and ``config`` default to the clock and the
    learner's settings file."""
    from studytool.checklist import checklist_status

    out: dict[str, Any] = dict(review_stats(store, content, now=now, config=config))
    summary = store.exercise_summary()
    out["exercises"] = {
        ex.id: {
            "attempts": summary[ex.id].attempts if ex.id in summary else 0,
            "passed": bool(summary[ex.id].passed) if ex.id in summary else False,
        }
        for ex in content.exercises
    }
    status = checklist_status(store, content)
    out["checklist"] = {"done": sum(s.done for s in status), "total": len(status)}
    return out
