"""A review session: the object the plain CLI and the TUI both drive.

Plain dataclasses in and out, no printing. The flow for each item::

    session = ReviewSession(store, content)          # builds the queue
    cur = session.next()                             # Current | None (None: nothing left)
    choices = session.reveal()                       # {1..4: Choice}, computed once
    session.rate(3)                                  # applies exactly the choice shown
    session.undo()                                   # any depth; the item comes back as current
    session.summary()                                # Summary

``suspend()`` / ``bury()`` act on the current item (and can be undone too). In cram mode nothing
is written: the schedule and the log stay untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from fsrs import Card, State

from studytool import scheduler as sch
from studytool.config import Config, load_config
from studytool.store import Store, utcnow


@dataclass(frozen=True)
class Choice:
    """What one rating would do, shown before the learner rates."""

    rating: int
    name: str  # Again | Hard | Good | Easy
    due: datetime  # UTC
    interval: timedelta
    label: str  # "10m", "3d", ...


@dataclass(frozen=True)
class Current:
    item: sch.ReviewItem
    state: str  # new | learning | review | relearning
    retrievability: float | None
    remaining: int  # items left in the queue after this one (now)
    cram: bool


@dataclass(frozen=True)
class Rated:
    item_id: str
    rating: int
    name: str
    due: datetime | None  # None in cram mode
    label: str


@dataclass
class Summary:
    rated: int = 0
    by_rating: dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0, 3: 0, 4: 0})
    new: int = 0
    undone: int = 0
    suspended: int = 0
    buried: int = 0
    cram: bool = False
    seconds: float = 0.0
    next_due: datetime | None = None  # the next learning step due today, if any


def suggest_rating(recalled: int, total: int) -> int:
    """The rating suggested by the share of key points recalled: under half → Again, under 80 % →
    Hard, else Good. Easy is the learner's own call."""
    if total <= 0:
        return 3
    share = recalled / total
    if share < 0.5:
        return 1
    if share < 0.8:
        return 2
    return 3


@dataclass
class _Action:
    kind: str  # rate | suspend | bury
    item: sch.ReviewItem
    record: sch.UndoRecord | None  # None in cram mode
    snapshot: sch.QueueSnapshot
    summary: tuple
    was_new: bool


class ReviewSession:
    def __init__(self, store: Store, content: Any, *, config: Config | None = None,
                 topic: str | None = None, cram: bool = False, limit: int | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.config = config or load_config()
        self.clock = clock or utcnow
        self.cram = cram
        self.limit = limit
        self.scheduler = sch.current_scheduler(store, self.config)
        now = self.clock()
        if not cram:
            sch.ensure_applied(store, self.scheduler, now=now)
        self.queue = sch.build_queue(store, content, now=now, config=self.config, topic=topic,
                                     cram=cram, scheduler=self.scheduler)
        self.items = self.queue.items
        self._started = now
        self._summary = Summary(cram=cram)
        self._undo: list[_Action] = []
        self._current: sch.ReviewItem | None = None
        self._card: Card | None = None
        self._shown_at: datetime | None = None
        self._preview: dict[int, sch.Outcome] | None = None
        self._taken_snapshot: sch.QueueSnapshot = self.queue.snapshot()

    # ------------------------------------------------------------------ reading

    @property
    def current(self) -> sch.ReviewItem | None:
        return self._current

    def _state_for(self, item: sch.ReviewItem, now: datetime) -> Card:
        st = sch.load_state(self.store, item.id)
        return st.card if st and not st.is_new else sch.new_card(item.id, now)

    def _present(self, item: sch.ReviewItem, now: datetime) -> None:
        self._current = item
        self._card = self._state_for(item, now)
        self._shown_at = now
        self._preview = None

    def _describe(self, now: datetime) -> Current:
        assert self._current is not None and self._card is not None
        new = self._card.last_review is None
        return Current(self._current, "new" if new else sch.STATE_NAMES[self._card.state],
                       sch.retrievability(self._card, now, self.scheduler),
                       self.queue.remaining(now), self.cram)

    def next(self) -> Current | None:
        """The item to show now (the same one until it is rated, suspended or buried)."""
        now = self.clock()
        if self._current is not None:
            return self._describe(now)
        if self.limit is not None and self._summary.rated >= self.limit:
            return None
        item_id = self.queue.next(now)
        if item_id is None:
            return None
        # the queue just after this item was taken: undoing what is done to it restores this
        self._taken_snapshot = self.queue.snapshot()
        self._present(self.items[item_id], now)
        return self._describe(now)

    def preview(self) -> dict[int, sch.Outcome]:
        """{rating: (fsrs card, fsrs log, due)} for the current item, computed once per showing;
        :meth:`rate` applies exactly the chosen one."""
        if self._current is None:
            raise RuntimeError("no current item: call next() first")
        if self._preview is None:
            assert self._card is not None
            self._preview = sch.preview(self.scheduler, self._card, self.clock())
        return dict(self._preview)

    def reveal(self) -> dict[int, Choice]:
        """The four choices as shown to the learner (from :meth:`preview`)."""
        out = {}
        for rating, o in self.preview().items():
            interval = o.due - o.log.review_datetime
            out[rating] = Choice(rating, sch.RATING_NAMES[rating], o.due, interval,
                                 sch.interval_label(interval))
        return out

    # ------------------------------------------------------------------ acting

    def _push(self, kind: str, record: sch.UndoRecord | None, snapshot: sch.QueueSnapshot,
              was_new: bool) -> None:
        assert self._current is not None
        s = self._summary
        self._undo.append(_Action(kind, self._current, record, snapshot,
                                  (s.rated, dict(s.by_rating), s.new, s.suspended, s.buried),
                                  was_new))

    def _clear_current(self) -> None:
        self._current = None
        self._card = None
        self._preview = None
        self._shown_at = None

    def rate(self, rating: int, *, answer: sch.QuestionAnswer | None = None) -> Rated:
        """Apply the rating exactly as previewed (and record a question attempt with ``answer``)."""
        if rating not in (1, 2, 3, 4):
            raise ValueError(f"rating must be 1-4, not {rating!r}")
        self.preview()
        assert self._current is not None and self._preview is not None and self._card is not None
        item, outcome = self._current, self._preview[rating]
        now = self.clock()
        was_new = self._card.last_review is None
        snapshot = self._taken_snapshot
        if self.cram:
            record = None
            if rating == 1:
                self.queue.add_pending(now + (self.config.learning_steps or
                                              (timedelta(minutes=1),))[0], item.id)
        else:
            duration = int((now - self._shown_at).total_seconds() * 1000) if self._shown_at else None
            record = sch.apply_rating(self.store, item, rating, outcome, now=now,
                                      duration_ms=duration, answer=answer)
            day_end = sch.day_start(now, self.config) + timedelta(days=1)
            if outcome.card.state != State.Review and outcome.due < day_end:
                self.queue.add_pending(outcome.due, item.id)
        self._push("rate", record, snapshot, was_new)
        s = self._summary
        s.rated += 1
        s.by_rating[rating] += 1
        s.new += int(was_new)
        self._clear_current()
        return Rated(item.id, rating, sch.RATING_NAMES[rating],
                     None if self.cram else outcome.due,
                     "cram" if self.cram else
                     sch.interval_label(outcome.due - outcome.log.review_datetime))

    def suspend(self) -> str:
        return self._flag("suspend")

    def bury(self) -> str:
        return self._flag("bury")

    def _flag(self, kind: str) -> str:
        if self._current is None:
            raise RuntimeError("no current item")
        item = self._current
        now = self.clock()
        was_new = item.id in self.queue.new_ids and (self._card is None or
                                                     self._card.last_review is None)
        if self.cram and kind == "bury":
            record = None  # burying in cram just skips the item
        elif kind == "suspend":
            record = sch.suspend(self.store, item.id, item.kind, now=now)
        else:
            record = sch.bury(self.store, item.id, item.kind, now=now, config=self.config)
        snapshot = self._taken_snapshot
        self._push(kind, record, snapshot, was_new)
        if was_new and not self.cram:
            self.queue.new_left += 1  # not introduced after all
        if kind == "suspend":
            self._summary.suspended += 1
        else:
            self._summary.buried += 1
        self._clear_current()
        return item.id

    def undo(self) -> str | None:
        """Take back the last rating, suspension or burial of this session: the item's stored state
        is restored exactly, its log row deleted, and it becomes the current item again."""
        if not self._undo:
            return None
        action = self._undo.pop()
        if action.record is not None:
            sch.undo(self.store, action.record)
        self.queue.restore(action.snapshot)
        s = self._summary
        s.rated, by_rating, s.new, s.suspended, s.buried = action.summary
        s.by_rating = dict(by_rating)
        s.undone += 1
        self._clear_current()
        self._present(action.item, self.clock())
        self._taken_snapshot = action.snapshot
        return action.item.id

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def summary(self) -> Summary:
        s = self._summary
        s.seconds = (self.clock() - self._started).total_seconds()
        s.next_due = self.queue.next_pending_due()
        return s


