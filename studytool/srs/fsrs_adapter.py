"""fsrs (py-fsrs) as studytool uses it: the scheduler, its settings, previews and study days.

- All the scheduling arithmetic is fsrs' own; on top of it studytool adds two rules, both inside
  :meth:`FsrsScheduler.review_card` so that rebuilding an item from its log (fsrs'
  ``reschedule_card``, :mod:`studytool.srs.repair`) gives back exactly what was stored:

  * the fuzz draw of each review is seeded from (card, review time, rating), so the same history
    always yields the same due dates;
  * Hard < Good < Easy, as Anki enforces: when a rating's outcome is a review interval (days) that
    is not longer than the next lower rating's, it becomes one day longer than that (fuzz
    included; only ``maximum_interval`` may make two equal).

- Datetimes are UTC everywhere (fsrs refuses anything else); local time is for display and for
  deciding where a study day begins (``day_starts_at``, a local hour, as in Anki).
- :func:`preview` computes the outcome of all four ratings once; the one chosen is stored exactly
  as it was shown (:func:`studytool.srs.states.apply_rating`).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple, cast

import fsrs
from fsrs import Card, Rating, ReviewLog, State

from studytool.config import Config, load_config
from studytool.store import Store

MIN_OPTIMIZER_REVIEWS = 512  # fsrs' Optimizer keeps the defaults below this many reviews

# Version of studytool's rules on top of fsrs (recorded with the scheduler, so a store computed
# under older rules is rescheduled from its log once): 0 seeded fuzz only; 1 adds Hard < Good < Easy.
RULES = 1


def card_id_for(item_id: str) -> int:
    """The fsrs ``card_id`` of a content item: a stable 56-bit hash of its id."""
    return int.from_bytes(hashlib.blake2b(item_id.encode("utf-8"), digest_size=7).digest(), "big")


def _days(delta: timedelta) -> int:
    return delta.days


class FsrsScheduler(fsrs.Scheduler):
    """fsrs' scheduler with studytool's two rules (see the module doc).

    fsrs fuzzes with the global ``random``; we seed it for the one call and put the global state
    back, so other users of ``random`` are unaffected.
    """

    rules: int = RULES

    def review_card(
        self,
        card: Card,
        rating: Rating,
        review_datetime: datetime | None = None,
        review_duration: int | None = None,
    ) -> tuple[Card, ReviewLog]:
        if review_datetime is None:
            raise ValueError("studytool always passes the review time explicitly")
        new, log = self._seeded_review(card, rating, review_datetime, review_duration)
        rating = Rating(rating)
        if self.rules >= 1 and rating in (Rating.Good, Rating.Easy) and new.state == State.Review:
            lower, _ = self.review_card(card, Rating(int(rating) - 1), review_datetime)
            if lower.state == State.Review:
                floor = _days(lower.due - review_datetime) + 1
                if _days(new.due - review_datetime) < floor <= self.maximum_interval:
                    new.due = review_datetime + timedelta(days=floor)
        return new, log

    def _seeded_review(
        self, card: Card, rating: Rating, at: datetime, duration: int | None
    ) -> tuple[Card, ReviewLog]:
        if not self.enable_fuzzing:
            return super().review_card(card, rating, at, duration)
        saved = random.getstate()
        random.seed(f"{card.card_id}|{at.isoformat()}|{int(rating)}")
        try:
            return super().review_card(card, rating, at, duration)
        finally:
            random.setstate(saved)

    def to_dict(self) -> Any:
        out = dict(super().to_dict())
        out["studytool_rules"] = self.rules
        return out

    @classmethod
    def from_dict(cls, source_dict: Any) -> FsrsScheduler:
        scheduler = cast(FsrsScheduler, super().from_dict(source_dict))
        scheduler.rules = int(source_dict.get("studytool_rules", 0))
        return scheduler


def make_scheduler(config: Config, parameters: Sequence[float] | None = None) -> FsrsScheduler:
    return FsrsScheduler(
        parameters=tuple(parameters) if parameters else fsrs.scheduler.DEFAULT_PARAMETERS,
        desired_retention=config.desired_retention,
        learning_steps=config.learning_steps,
        relearning_steps=config.relearning_steps,
        maximum_interval=config.maximum_interval,
        enable_fuzzing=config.enable_fuzzing,
    )


def fitted_parameters(store: Store) -> list[float] | None:
    """The parameters `studytool optimize` fitted, or None (fsrs' defaults apply)."""
    value = store.meta_get("parameters")
    return [float(p) for p in value] if value else None


def current_scheduler(store: Store, config: Config | None = None) -> FsrsScheduler:
    """The scheduler the settings ask for: the config plus any fitted parameters."""
    return make_scheduler(config or load_config(), fitted_parameters(store))


def applied_scheduler(store: Store) -> FsrsScheduler | None:
    """The scheduler the stored item states were computed with (None: not recorded yet)."""
    data = store.meta_get("applied_scheduler")
    return FsrsScheduler.from_dict(data) if data else None


def retrievability(card: Card, now: datetime, scheduler: fsrs.Scheduler) -> float | None:
    """fsrs' forgetting curve at ``now``, from *fractional* elapsed days (fsrs' own helper floors
    to whole days). None for an item never reviewed."""
    if card.last_review is None or not card.stability:
        return None
    elapsed = max(0.0, (now - card.last_review).total_seconds() / 86400.0)
    decay = -scheduler.parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    return float((1 + factor * elapsed / card.stability) ** decay)


def new_card(item_id: str, now: datetime) -> Card:
    return Card(card_id=card_id_for(item_id), due=now)


class Outcome(NamedTuple):
    """What one rating does: the new fsrs card, its log, and the due date (UTC)."""

    card: Card
    log: ReviewLog
    due: datetime

    @property
    def interval(self) -> timedelta:
        return self.due - self.log.review_datetime


def preview(scheduler: fsrs.Scheduler, card: Card, now: datetime) -> dict[int, Outcome]:
    """The outcome of each of the four ratings at ``now``. Compute once, show, then apply the chosen
    one — the interval stored is the interval shown."""
    out: dict[int, Outcome] = {}
    for rating in Rating:
        new, log = scheduler.review_card(card, rating, review_datetime=now)
        out[int(rating)] = Outcome(new, log, new.due)
    return out


# --------------------------------------------------------------------------- days (local time)


def day_start(now: datetime, config: Config) -> datetime:
    """UTC start of the local study day that contains ``now`` (days begin at ``day_starts_at``)."""
    local = now.astimezone()
    start = datetime.combine(local.date(), time(config.day_starts_at), tzinfo=local.tzinfo)
    if local < start:
        start -= timedelta(days=1)
    # re-resolve the local offset at that wall-clock time (DST)
    start = start.replace(tzinfo=None).astimezone()
    return start.astimezone(UTC)


def study_day(dt: datetime, config: Config) -> date:
    """The local study date ``dt`` falls in."""
    return (dt.astimezone() - timedelta(hours=config.day_starts_at)).date()
