"""A review session: the object the plain CLI and the TUI both drive.

Plain dataclasses and catalogue messages (:class:`~studytool.i18n.Msg`) out, no printing, no
sentences. The flow for each item::

    session = ReviewSession(store, content)          # builds the queue
    cur = session.next()                             # Current | None (None: nothing left)
    session.judge(True)                              # true/false cards: right? suggested rating
    choices = session.reveal()                       # {1..4: Choice}, computed once
    session.rate(3)                                  # applies exactly the choice shown
    session.undo()                                   # any depth; the item comes back as current
    session.summary()                                # Summary (facts); summary_msgs() words it

``suspend()`` / ``bury()`` act on the current item (and can be undone too). In cram mode nothing
is written: the schedule and the log stay untouched.

One card, two windows: a rating is applied only to the state it was computed from. When another
process (a second app, ``review --plain``) reviewed the item after it was shown here, the rating is
not applied (``Rated.applied`` is False, ``Rated.status()`` says "already reviewed elsewhere") and
the session moves on; an item changed elsewhere before it was revealed is put away at the next
:meth:`ReviewSession.next` (``notices()`` says so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fsrs import Card, State

from studytool.config import Config, load_config
from studytool.i18n import Msg, interval_label, rating_name, render
from studytool.review_summary import Summary, summary_lines, summary_msgs
from studytool.srs import fsrs_adapter as fa
from studytool.srs import states as st
from studytool.srs.items import ReviewItem
from studytool.srs.queue import Counts, Queue, QueueSnapshot, build_queue, count_key, next_due
from studytool.stats import day_totals
from studytool.store import Store, utcnow

QuestionAnswer = st.QuestionAnswer  # what a question's rating records (the UIs build it)


@dataclass(frozen=True)
class Choice:
    """What one rating would do, shown before the learner rates."""

    rating: int
    name: str  # Again | Hard | Good | Easy (English; name_in(lang) for the learner's language)
    due: datetime  # UTC
    interval: timedelta
    label: str  # "10m", "3d", ... (English); in cram mode "no change (cram)"
    cram: bool = False

    def label_in(self, lang: str) -> str:
        """The label in ``lang``: "10m" / "10分钟"; cram: "no change (cram)" / "不改日程（突击模式）"."""
        return render(Msg("review.cram_label"), lang) if self.cram else interval_label(self.interval, lang)

    def name_in(self, lang: str) -> str:
        return rating_name(self.rating, lang)


@dataclass(frozen=True)
class Current:
    """The item on screen, with what the Review header shows."""

    item: ReviewItem
    state: str  # new | learning | review | relearning
    retrievability: float | None
    remaining: int  # items left in the queue after this one (now)
    cram: bool
    counts: Counts = Counts(0, 0, 0)  # new/learning/review waiting now, this item included (Anki)
    counting: str | None = None  # which of the counts this item is in (None in cram mode)

    def title(self, lang: str = "en", width: int = 48) -> str:
        return self.item.title(lang, width)


@dataclass(frozen=True)
class Judgement:
    """A true/false card answered before the reveal: right or not, and the rating it suggests
    (Again when wrong, Good when right; the learner still chooses)."""

    right: bool
    said: bool
    answer: bool
    suggested: int

    def msg(self) -> Msg:
        said = Msg("review.truefalse.true" if self.said else "review.truefalse.false")
        return Msg("review.judge_right" if self.right else "review.judge_wrong", said=said)


@dataclass(frozen=True)
class Rated:
    """What a rating did (or, ``applied`` False, did not do)."""

    item_id: str
    rating: int
    name: str
    due: datetime | None  # None in cram mode and when not applied
    label: str
    item: ReviewItem | None = None
    recomputed: bool = False  # kept for callers of earlier versions: always False now
    interval: timedelta | None = None  # None in cram mode and when not applied
    applied: bool = True  # False: reviewed elsewhere since it was shown; nothing was written

    def title(self, lang: str = "en", width: int = 48) -> str:
        return self.item.title(lang, width) if self.item is not None else self.item_id

    def label_in(self, lang: str) -> str:
        if self.interval is None:
            return render(Msg("review.cram_label"), lang)
        return interval_label(self.interval, lang)

    def msg(self) -> Msg:
        """The status line after rating: "Good → 4d: Q13 Why scale…" / "良好 → 4天：Q13 …"."""
        title = {lang: self.title(lang) for lang in ("en", "zh")}
        name = Msg(f"review.rating.{self.rating}")
        if not self.applied:
            return Msg("review.not_applied", title=title)
        if self.interval is None:
            return Msg("review.rated_cram", rating=name, title=title)
        labels = {lang: interval_label(self.interval, lang) for lang in ("en", "zh")}
        return Msg("review.rated", rating=name, interval=labels, title=title)

    def status(self, lang: str) -> str:
        return render(self.msg(), lang)


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


def judge_truefalse(answer: bool, said: bool) -> Judgement:
    right = said == answer
    return Judgement(right, said, answer, 3 if right else 1)


@dataclass
class _Action:
    """One step of the session's undo history."""

    kind: str  # rate | suspend | bury
    item: ReviewItem
    record: st.UndoRecord | None  # None in cram mode
    snapshot: QueueSnapshot
    summary: tuple[Any, ...]
    was_new: bool
    generation: int  # the queue it was taken from (a rebuild starts a new one)


class ReviewSession:
    """One review session over ``store`` (see the module doc for the flow).

    Other processes (``studytool review --plain`` beside the app) may write the same store: before
    it shows an item (:meth:`next`), reveals (:meth:`reveal`) or counts (:meth:`counts`), the
    session asks SQLite whether another connection wrote (``PRAGMA data_version``, a cheap
    in-memory check) and, if so, rebuilds its queue from the store. A rating is written in one
    transaction that re-reads the item under the write lock and refuses a state it was not
    computed from (:func:`studytool.srs.states.apply_rating`).
    """

    def __init__(
        self,
        store: Store,
        content: Any,
        *,
        config: Config | None = None,
        topic: str | None = None,
        cram: bool = False,
        limit: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.content = content
        self.topic = topic
        self.config = config or load_config()
        self.clock = clock or utcnow
        self.cram = cram
        self.limit = limit
        self.scheduler = fa.current_scheduler(store, self.config)
        now = self.clock()
        if not cram:
            st.ensure_applied(store, self.scheduler, now=now)
        self.queue = build_queue(
            store, content, now=now, config=self.config, topic=topic, cram=cram, scheduler=self.scheduler
        )
        self.items = self.queue.items
        self._data_version = store.data_version()
        self.generation = 0  # bumped by every rebuild after a change made elsewhere
        self.changed_elsewhere = 0  # how many times another process's writes were picked up
        self._notices: list[Msg] = []
        self._started = now
        self._stopped = False
        self._summary = Summary(cram=cram, limit=limit)
        self._undo: list[_Action] = []
        self._current: ReviewItem | None = None
        self._card: Card | None = None
        self._shown_at: datetime | None = None
        self._preview: dict[int, fa.Outcome] | None = None
        self._taken_snapshot: QueueSnapshot = self.queue.snapshot()
        # learning steps re-queued by this session: item → (stored due, position in the queue)
        self._requeued: dict[str, tuple[datetime, datetime]] = {}

    # ------------------------------------------------------------------ other processes

    def changed_since(self) -> bool:
        """Has another connection written the store since this session last looked? (Cheap: no
        table is read.) Does not rebuild; :meth:`next`, :meth:`reveal` and :meth:`counts` do."""
        return self.store.data_version() != self._data_version

    def notices(self) -> list[Msg]:
        """What changed because of another window since the last call (each said once)."""
        out, self._notices = self._notices, []
        return out

    def _sync(self, now: datetime, *, may_drop: bool) -> bool:
        """Pick up what another process wrote: rebuild the queue. With ``may_drop`` (nothing
        revealed yet), a current item that was reviewed elsewhere, or suspended or buried there,
        is put away (it comes back when due); once revealed it stays, with the intervals shown,
        and its rating will not be applied."""
        version = self.store.data_version()
        if version == self._data_version:
            return False
        self._data_version = version
        self.changed_elsewhere += 1
        self._notices.append(Msg("review.changed_elsewhere"))
        self._rebuild(now, may_drop=may_drop)
        return True

    def _rebuild(self, now: datetime, *, may_drop: bool) -> None:
        old = self.queue
        if self.cram:
            queue = old  # cram writes nothing and shows everything: the queue stays
        else:
            queue = build_queue(
                self.store,
                self.content,
                now=now,
                config=self.config,
                topic=self.topic,
                cram=False,
                scheduler=self.scheduler,
            )
            queue.last_topic, queue.run, queue.last_item = old.last_topic, old.run, old.last_item
            # learning steps keep the place this session gave them (their step counted from the
            # rating), unless they were rated again elsewhere
            if self._requeued:
                moved = []
                for due, item_id, topic in queue.pending:
                    kept = self._requeued.get(item_id)
                    moved.append((kept[1] if kept is not None and kept[0] == due else due, item_id, topic))
                moved.sort()
                queue.pending = moved
        if self._current is not None:
            item = self._current
            state = st.load_state(self.store, item.id)
            stored = state.card if state and not state.is_new else None
            same = st.same_card(stored, self._card) if self._card is not None else False
            held = state is not None and (
                state.suspended
                or (state.buried_until is not None and state.buried_until > now and not self.cram)
            )
            if may_drop and (held or (not same and not self.cram)):
                if not same:
                    self._notices.append(Msg("review.dropped_elsewhere", title=self._titles(item)))
                self._clear_current()  # done elsewhere: it comes back when due
            elif not self.cram:
                queue.discard(item.id)
                if self._card is not None and self._card.last_review is None:
                    queue.new_left = max(0, queue.new_left - 1)  # it is being introduced
        if queue is not old:
            self.queue = queue
            self.items = queue.items
            self.generation += 1
            self._taken_snapshot = queue.snapshot()

    # ------------------------------------------------------------------ reading

    @property
    def current(self) -> ReviewItem | None:
        return self._current

    def title(self, item_id: str, lang: str = "en", width: int = 48) -> str:
        """An item's title for status lines (its id if it is not in the content)."""
        it = self.items.get(item_id)
        return it.title(lang, width) if it is not None else item_id

    @staticmethod
    def _titles(item: ReviewItem) -> dict[str, str]:
        return {lang: item.title(lang) for lang in ("en", "zh")}

    def _state_for(self, item: ReviewItem, now: datetime) -> Card:
        state = st.load_state(self.store, item.id)
        return state.card if state and not state.is_new else fa.new_card(item.id, now)

    def _present(self, item: ReviewItem, now: datetime) -> None:
        self._current = item
        self._card = self._state_for(item, now)
        self._shown_at = now
        self._preview = None

    def _counting(self) -> str | None:
        if self.cram or self._card is None:
            return None
        return count_key(self._card)

    def _describe(self, now: datetime) -> Current:
        assert self._current is not None and self._card is not None
        new = self._card.last_review is None
        left = self.queue.counts(now)
        counting = self._counting()
        return Current(
            self._current,
            "new" if new else _STATE_NAMES[self._card.state],
            fa.retrievability(self._card, now, self.scheduler),
            left.total,
            self.cram,
            left.plus(counting or ("new" if new else "review")),  # cram: reviewed items are one tier
            counting,
        )

    def counts(self) -> Counts:
        """New / learning / review still waiting, the item on screen included (as Anki counts),
        after picking up any change made elsewhere."""
        now = self.clock()
        self._sync(now, may_drop=False)
        c = self.queue.counts(now)
        return c.plus(count_key(self._card)) if self._current is not None and self._card is not None else c

    def next(self) -> Current | None:
        """The item to show now (the same one until it is rated, suspended or buried). First picks
        up what another process wrote (see the class doc)."""
        now = self.clock()
        self._sync(now, may_drop=self._preview is None)
        if self._current is not None:
            return self._describe(now)
        if self._stopped:
            return None
        if self.limit is not None and self._summary.rated >= self.limit:
            return None
        item_id = self.queue.next(now)
        if item_id is None:
            return None
        # the queue just after this item was taken: undoing what is done to it restores this
        self._taken_snapshot = self.queue.snapshot()
        self._present(self.items[item_id], now)
        return self._describe(now)

    def judge(self, said: bool) -> Judgement:
        """A true/false card answered before the reveal: whether the learner was right, and the
        rating that suggests (Again when wrong)."""
        if self._current is None or self._current.type != "truefalse":
            raise RuntimeError("judge() is for a true/false card being shown")
        return judge_truefalse(bool(self._current.obj.answer), said)

    def preview(self) -> dict[int, fa.Outcome]:
        """{rating: (fsrs card, fsrs log, due)} for the current item, computed once per showing;
        :meth:`rate` applies exactly the chosen one."""
        if self._current is None:
            raise RuntimeError("no current item: call next() first")
        self._sync(self.clock(), may_drop=False)
        if self._preview is None:
            assert self._card is not None
            self._preview = fa.preview(self.scheduler, self._card, self.clock())
        return dict(self._preview)

    def reveal(self) -> dict[int, Choice]:
        """The four choices as shown to the learner (from :meth:`preview`). In cram mode the label
        says that nothing is scheduled ("no change (cram)")."""
        out = {}
        for rating, o in self.preview().items():
            interval = o.due - o.log.review_datetime
            label = render(Msg("review.cram_label"), "en") if self.cram else interval_label(interval, "en")
            out[rating] = Choice(rating, rating_name(rating, "en"), o.due, interval, label, self.cram)
        return out

    # ------------------------------------------------------------------ acting

    def _push(self, kind: str, record: st.UndoRecord | None, snapshot: QueueSnapshot, was_new: bool) -> None:
        assert self._current is not None
        s = self._summary
        self._undo.append(
            _Action(
                kind,
                self._current,
                record,
                snapshot,
                (s.rated, dict(s.by_rating), s.new, s.suspended, s.buried),
                was_new,
                self.generation,
            )
        )

    def _clear_current(self) -> None:
        self._current = None
        self._card = None
        self._preview = None
        self._shown_at = None

    def rate(self, rating: int, *, answer: st.QuestionAnswer | None = None) -> Rated:
        """Apply the rating exactly as previewed, and record a question attempt with ``answer``.
        When another process reviewed the item since it was shown, nothing is written and the
        result says so (``Rated.applied`` False); the session moves on either way."""
        if rating not in (1, 2, 3, 4):
            raise ValueError(f"rating must be 1-4, not {rating!r}")
        if self._current is None:
            raise RuntimeError("no current item: call next() first")
        if self._preview is None:  # rated without a reveal (scripts): computed now
            self.preview()
        assert self._preview is not None and self._card is not None
        item, outcome = self._current, self._preview[rating]
        now = self.clock()
        was_new = self._card.last_review is None
        snapshot = self._taken_snapshot
        name = rating_name(rating, "en")
        if self.cram:
            record = None
            if rating == 1:
                self.queue.add_pending(
                    now + (self.config.learning_steps or (timedelta(minutes=1),))[0], item.id
                )
        else:
            duration = int((now - self._shown_at).total_seconds() * 1000) if self._shown_at else None
            try:
                record = st.apply_rating(
                    self.store,
                    item,
                    rating,
                    outcome,
                    now=now,
                    duration_ms=duration,
                    answer=answer,
                    expected=self._card,
                )
            except st.AlreadyReviewed:
                self._summary.not_applied += 1
                self._requeued.pop(item.id, None)
                self._clear_current()
                self._data_version = -1  # pick up the other window's write before the next item
                return Rated(item.id, rating, name, None, "", item, applied=False)
            day_end = fa.day_start(now, self.config) + timedelta(days=1)
            if outcome.card.state != State.Review and outcome.due < day_end:
                # the step counts from now (the rating), not from when the answer was shown: an
                # Again card waits its full step while the others come first
                step = outcome.due - outcome.log.review_datetime
                at = max(outcome.due, now + step)
                self.queue.add_pending(at, item.id)
                self._requeued[item.id] = (outcome.due, at)
            else:
                self._requeued.pop(item.id, None)
        self._push("rate", record, snapshot, was_new)
        s = self._summary
        s.rated += 1
        s.by_rating[rating] += 1
        s.new += int(was_new)
        self._clear_current()
        interval = outcome.due - outcome.log.review_datetime
        return Rated(
            item.id,
            rating,
            name,
            None if self.cram else outcome.due,
            render(Msg("review.cram_label"), "en") if self.cram else interval_label(interval, "en"),
            item,
            False,
            None if self.cram else interval,
        )

    def suspend(self) -> str:
        """Suspend the current item; returns its id (``title(id, lang)`` names it)."""
        return self._flag("suspend")

    def bury(self) -> str:
        """Bury the current item until tomorrow; returns its id. A new item buried (or suspended)
        frees its place among today's new cards, as in Anki: the next new card comes instead."""
        return self._flag("bury")

    def _flag(self, kind: str) -> str:
        if self._current is None:
            raise RuntimeError("no current item")
        item = self._current
        now = self.clock()
        was_new = self._card is None or self._card.last_review is None
        record: st.UndoRecord | None
        if self.cram and kind == "bury":
            record = None  # burying in cram just skips the item
        elif kind == "suspend":
            record = st.suspend(self.store, item.id, item.kind, now=now)
        else:
            record = st.bury(self.store, item.id, item.kind, now=now, config=self.config)
        snapshot = self._taken_snapshot
        self._push(kind, record, snapshot, was_new)
        self._requeued.pop(item.id, None)
        if was_new and not self.cram:
            self.queue.new_left += 1  # not introduced: its place goes to the next new card
        if kind == "suspend":
            self._summary.suspended += 1
        else:
            self._summary.buried += 1
        self._clear_current()
        return item.id

    def stop(self) -> None:
        """The learner ends the session (``q``): :meth:`next` shows nothing more and the summary
        says the session was stopped (when something was left)."""
        self._stopped = True

    def undo(self) -> str | None:
        """Take back the last rating, suspension or burial of this session: the item's stored state
        is restored exactly, its log row deleted, and it becomes the current item again.

        Raises :class:`~studytool.srs.states.ChangedElsewhere` (and drops that step from the undo
        history) when another process reviewed the item since: undoing would throw its review
        away."""
        if not self._undo:
            return None
        action = self._undo.pop()
        if action.record is not None:
            st.undo(self.store, action.record)  # may raise ChangedElsewhere: nothing changed
        now = self.clock()
        self._clear_current()
        self._stopped = False
        if action.generation == self.generation:
            self.queue.restore(action.snapshot)
            self._taken_snapshot = action.snapshot
        else:
            # the queue was rebuilt since (another process wrote): rebuild it again, without the
            # item that comes back
            self._rebuild(now, may_drop=False)
            self.queue.discard(action.item.id)
            if action.was_new:
                self.queue.new_left = max(0, self.queue.new_left - 1)
            self._taken_snapshot = self.queue.snapshot()
        self._requeued.pop(action.item.id, None)
        s = self._summary
        s.rated, by_rating, s.new, s.suspended, s.buried = action.summary
        s.by_rating = dict(by_rating)
        s.undone += 1
        self._present(action.item, now)
        return action.item.id

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def summary(self) -> Summary:
        """What this session did so far, the study day's totals, and when something is next due."""
        s = self._summary
        now = self.clock()
        s.now = now
        s.seconds = (now - self._started).total_seconds()
        c = self.queue.counts(now)
        if self._current is not None and self._card is not None:  # shown, not done: waiting too
            c = c.plus(count_key(self._card))
        s.counts = c
        limited = self.limit is not None and s.rated >= self.limit
        left = self._current is not None or self.queue.next_would_show(now) is not None
        s.finished = not left and not limited
        if s.finished:
            s.ended = "finished"
        elif limited:
            s.ended = "limit"
        elif self._stopped:
            s.ended = "stopped"
        else:
            s.ended = "waiting"
        s.day = None if self.cram else day_totals(self.store, now, self.config)
        pending = self.queue.next_pending_due()
        stored = None if self.cram else next_due(self.store, self.content, now=now, config=self.config)
        if not s.finished:
            s.next_due = now
        else:
            s.next_due = min((d for d in (pending, stored) if d is not None), default=None)
        return s


_STATE_NAMES = {State.Learning: "learning", State.Review: "review", State.Relearning: "relearning"}

__all__ = [
    "Choice",
    "Current",
    "Judgement",
    "QuestionAnswer",
    "Queue",
    "Rated",
    "ReviewSession",
    "Summary",
    "judge_truefalse",
    "suggest_rating",
    "summary_lines",
    "summary_msgs",
]
