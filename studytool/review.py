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

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fsrs import Card, State

from studytool import i18n
from studytool import scheduler as sch
from studytool.config import Config, load_config
from studytool.store import Store, utcnow


@dataclass(frozen=True)
class Choice:
    """What one rating would do, shown before the learner rates."""

    rating: int
    name: str  # Again | Hard | Good | Easy (English; i18n.rating_name(rating, lang) for Chinese)
    due: datetime  # UTC
    interval: timedelta
    label: str  # "10m", "3d", ...; in cram mode "no change (cram)"
    cram: bool = False

    def label_in(self, lang: str) -> str:
        """The label in ``lang``: "10m" / "10分钟"; cram: "no change (cram)" / "不改日程（突击模式）"."""
        return i18n.tr("cram_label", lang) if self.cram else i18n.interval_label(self.interval, lang)

    def name_in(self, lang: str) -> str:
        return i18n.rating_name(self.rating, lang)


@dataclass(frozen=True)
class Current:
    item: sch.ReviewItem
    state: str  # new | learning | review | relearning
    retrievability: float | None
    remaining: int  # items left in the queue after this one (now) — counts.total
    cram: bool
    counts: sch.Counts = sch.Counts(0, 0, 0)  # what is left after this one: new/learning/review

    def title(self, lang: str = "en", width: int = 48) -> str:
        return self.item.title(lang, width)


@dataclass(frozen=True)
class Rated:
    item_id: str
    rating: int
    name: str
    due: datetime | None  # None in cram mode
    label: str
    item: sch.ReviewItem | None = None
    recomputed: bool = False  # changed elsewhere since the preview: computed from the stored state
    interval: timedelta | None = None  # None in cram mode

    def title(self, lang: str = "en", width: int = 48) -> str:
        return self.item.title(lang, width) if self.item is not None else self.item_id

    def label_in(self, lang: str) -> str:
        if self.interval is None:
            return i18n.tr("cram_label", lang)
        return i18n.interval_label(self.interval, lang)

    def status(self, lang: str) -> str:
        """The status line after rating: "Good → 4d: Q13 Why scale…" / "良好 → 4天：Q13 …"."""
        name = i18n.rating_name(self.rating, lang)
        if self.interval is None:
            return i18n.tr("rated_cram", lang, rating=name, title=self.title(lang))
        line = i18n.tr("rated", lang, rating=name, interval=self.label_in(lang), title=self.title(lang))
        if self.recomputed:
            line += (
                (" (" if lang != "zh" else "（")
                + i18n.tr("recomputed", lang)
                + (")" if lang != "zh" else "）")
            )
        return line


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
    next_due: datetime | None = None  # when something is next due (a learning step, tomorrow…)
    finished: bool = False  # nothing left to show now (not stopped by --limit or by quitting)
    counts: sch.Counts = sch.Counts(0, 0, 0)  # still waiting now, the item on screen included
    now: datetime | None = None  # when the summary was taken

    @property
    def reviewed(self) -> int:
        return self.rated

    @property
    def again(self) -> int:
        return self.by_rating[1]


# where to go next, named as the CLI and as the app (its section keys) name it: (en, zh)
_GO = {
    "cli": {
        "review": ("studytool review", "studytool review"),
        "exercise": ("studytool today", "studytool today"),
        "unsuspend": ("studytool unsuspend", "studytool unsuspend"),
    },
    "app": {
        "review": ("n: a new session", "按 n 开始新的一轮"),
        "exercise": ("5: Exercises", "按 5 进入练习"),
        "unsuspend": ("the Suspended & buried list", "“暂停与搁置”列表"),
    },
}


def summary_lines(
    summary: Summary, lang: str = "en", now: datetime | None = None, *, app: bool = False
) -> list[str]:
    """The learner-facing end of a session, as in Anki: what was done (reviewed, again, time
    spent), when the next card is due, and what to do next. English or Chinese; ``app`` names the
    app's keys instead of CLI commands in the "what next" line."""
    zh = lang == "zh"
    now = now or summary.now or utcnow()
    s = summary
    go = {k: v[1 if zh else 0] for k, v in _GO["app" if app else "cli"].items()}
    out: list[str] = []
    if s.finished:
        if s.cram:
            out.append(
                "突击模式结束：所有内容都过了一遍。"
                if zh
                else "Cram finished: you have been through everything."
            )
        elif s.rated or s.suspended or s.buried:
            out.append(
                "恭喜！这一组内容现在已经全部学完。"
                if zh
                else "Congratulations! You have finished this deck for now."
            )
        else:
            out.append(i18n.tr("nothing_due", lang))
    else:
        out.append("本轮到此为止。" if zh else "Session stopped.")
    took = i18n.duration_text(s.seconds, lang)
    if s.cram:
        out.append(
            f"突击复习 {s.rated} 张（重来 {s.again} 张），用时 {took}；日程没有改动。"
            if zh
            else f"Crammed {s.rated} (again {s.again}) in {took}; the schedule was not changed."
        )
    elif s.rated or s.undone or s.suspended or s.buried:
        extra = []
        if s.new:
            extra.append(f"新卡片 {s.new} 张" if zh else f"{s.new} new")
        if s.suspended:
            extra.append(f"暂停 {s.suspended} 张" if zh else f"{s.suspended} suspended")
        if s.buried:
            extra.append(f"搁置 {s.buried} 张" if zh else f"{s.buried} buried")
        if s.undone:
            extra.append(f"撤销 {s.undone} 次" if zh else f"{s.undone} undone")
        if zh:
            more = ("；" + "，".join(extra)) if extra else ""
            out.append(f"本轮复习 {s.rated} 张（重来 {s.again} 张{more}），用时 {took}。")
        else:
            more = ("; " + ", ".join(extra)) if extra else ""
            out.append(f"Reviewed {s.rated} (again {s.again}{more}) in {took}.")
    if not s.finished:
        c = s.counts
        if c.total:
            waiting = i18n.tr("counts", lang, new=c.new, learning=c.learning, review=c.review)
            out.append(f"还在等待：{waiting}。" if zh else f"Still waiting: {waiting}.")
        out.append(
            f"接下来：继续复习（{go['review']}）。"
            if zh
            else f"What next: carry on reviewing ({go['review']})."
        )
    elif s.cram:
        out.append(
            f"接下来：正式复习会按日程安排（{go['review']}）。"
            if zh
            else f"What next: a normal review keeps the schedule ({go['review']})."
        )
    elif s.next_due is not None:
        when = i18n.when_text(s.next_due, now, lang)
        out.append(f"下一张到期：{when}。" if zh else f"Next card due: {when}.")
        if s.next_due - now <= timedelta(hours=2):
            out.append(
                f"接下来：到时再回来复习；这之间可以做一道练习（{go['exercise']}）。"
                if zh
                else f"What next: come back then; meanwhile, try an exercise ({go['exercise']})."
            )
        else:
            out.append(
                f"接下来：做一道练习或看看清单（{go['exercise']}），到期时再来复习。"
                if zh
                else f"What next: try an exercise or the checklist ({go['exercise']}); review "
                "again when cards are due."
            )
    else:
        out.append(
            f"接下来：所有内容都已暂停，可以在{go['unsuspend']}中恢复。"
            if zh
            else f"What next: everything is suspended; {go['unsuspend']} brings items back."
        )
    return out


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
    generation: int  # the queue it was taken from (a rebuild starts a new one)


class ReviewSession:
    """One review session over ``store`` (see the module doc for the flow).

    Other processes (``studytool review --plain`` beside the app) may write the same store: before
    it shows an item (:meth:`next`), reveals (:meth:`reveal`) or counts (:meth:`counts`), the
    session asks SQLite whether another connection wrote (``PRAGMA data_version``, a cheap
    in-memory check) and, if so, rebuilds its queue from the store and reloads the current item's
    state, so the intervals it shows are computed from what is stored. A rating is written in one
    transaction that re-reads the item under the write lock (:func:`scheduler.apply_rating`).
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
        self.scheduler = sch.current_scheduler(store, self.config)
        now = self.clock()
        if not cram:
            sch.ensure_applied(store, self.scheduler, now=now)
        self.queue = sch.build_queue(
            store, content, now=now, config=self.config, topic=topic, cram=cram, scheduler=self.scheduler
        )
        self.items = self.queue.items
        self._data_version = self._read_data_version()
        self.generation = 0  # bumped by every rebuild after a change made elsewhere
        self.changed_elsewhere = 0  # how many times another process's writes were picked up
        self._started = now
        self._summary = Summary(cram=cram)
        self._undo: list[_Action] = []
        self._current: sch.ReviewItem | None = None
        self._card: Card | None = None
        self._shown_at: datetime | None = None
        self._preview: dict[int, sch.Outcome] | None = None
        self._taken_snapshot: sch.QueueSnapshot = self.queue.snapshot()
        # learning steps re-queued by this session: item → (stored due, position in the queue)
        self._requeued: dict[str, tuple[datetime, datetime]] = {}

    # ------------------------------------------------------------------ other processes

    def _read_data_version(self) -> int:
        return int(self.store.conn.execute("PRAGMA data_version").fetchone()[0])

    def changed_since(self) -> bool:
        """Has another connection written the store since this session last looked? (Cheap: no
        table is read.) Does not rebuild; :meth:`next`, :meth:`reveal` and :meth:`counts` do."""
        return self._read_data_version() != self._data_version

    def _sync(self, now: datetime, *, may_drop: bool) -> bool:
        """Pick up what another process wrote: rebuild the queue and reload the current item's
        state (its preview is then recomputed). With ``may_drop``, a current item that was
        reviewed elsewhere and is no longer due is put away (it comes back when due)."""
        version = self._read_data_version()
        if version == self._data_version:
            return False
        self._data_version = version
        self.changed_elsewhere += 1
        self._rebuild(now, may_drop=may_drop)
        return True

    def _rebuild(self, now: datetime, *, may_drop: bool) -> None:
        old = self.queue
        if self.cram:
            queue = old  # cram writes nothing and shows everything: the queue stays
        else:
            queue = sch.build_queue(
                self.store,
                self.content,
                now=now,
                config=self.config,
                topic=self.topic,
                cram=False,
                scheduler=self.scheduler,
            )
            queue.last_topic, queue.run, queue.last_item = old.last_topic, old.run, old.last_item
            # new items this session buried or suspended count against today's limit
            queue.new_left = max(
                0,
                queue.new_left
                - sum(1 for a in self._undo if a.kind != "rate" and a.was_new and a.record is not None),
            )
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
            st = sch.load_state(self.store, item.id)
            stored = st.card if st and not st.is_new else None
            same = sch._same_card(stored, self._card) if self._card is not None else False
            held = st is not None and (
                st.suspended or (st.buried_until is not None and st.buried_until > now and not self.cram)
            )
            due_now = (
                stored is None
                or stored.due <= now
                or (
                    stored.state == State.Review
                    and stored.due < sch.day_start(now, self.config) + timedelta(days=1)
                )
            )
            if may_drop and (held or (not same and not due_now and not self.cram)):
                self._clear_current()  # done elsewhere: it comes back when due
            else:
                if not same:
                    self._card = stored if stored is not None else sch.new_card(item.id, now)
                    self._preview = None
                if not self.cram:
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
    def current(self) -> sch.ReviewItem | None:
        return self._current

    def title(self, item_id: str, lang: str = "en", width: int = 48) -> str:
        """An item's title for status lines (its id if it is not in the content)."""
        it = self.items.get(item_id)
        return it.title(lang, width) if it is not None else item_id

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
        counts = self.queue.counts(now)
        return Current(
            self._current,
            "new" if new else sch.STATE_NAMES[self._card.state],
            sch.retrievability(self._card, now, self.scheduler),
            counts.total,
            self.cram,
            counts,
        )

    def counts(self) -> sch.Counts:
        """New / learning / review still waiting (not counting the item being shown), after
        picking up any change made elsewhere."""
        now = self.clock()
        self._sync(now, may_drop=False)
        return self.queue.counts(now)

    def next(self) -> Current | None:
        """The item to show now (the same one until it is rated, suspended or buried). First picks
        up what another process wrote (see the class doc)."""
        now = self.clock()
        self._sync(now, may_drop=self._preview is None)
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
        """{rating: (fsrs card, fsrs log, due)} for the current item, computed once per showing
        (again when another process changed the item meanwhile); :meth:`rate` applies exactly the
        chosen one."""
        if self._current is None:
            raise RuntimeError("no current item: call next() first")
        self._sync(self.clock(), may_drop=False)
        if self._preview is None:
            assert self._card is not None
            self._preview = sch.preview(self.scheduler, self._card, self.clock())
        return dict(self._preview)

    def reveal(self) -> dict[int, Choice]:
        """The four choices as shown to the learner (from :meth:`preview`). In cram mode the label
        says that nothing is scheduled ("no change (cram)")."""
        out = {}
        for rating, o in self.preview().items():
            interval = o.due - o.log.review_datetime
            label = i18n.tr("cram_label", "en") if self.cram else sch.interval_label(interval)
            out[rating] = Choice(rating, sch.RATING_NAMES[rating], o.due, interval, label, self.cram)
        return out

    # ------------------------------------------------------------------ acting

    def _push(
        self, kind: str, record: sch.UndoRecord | None, snapshot: sch.QueueSnapshot, was_new: bool
    ) -> None:
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

    def rate(self, rating: int, *, answer: sch.QuestionAnswer | None = None) -> Rated:
        """Apply the rating as previewed — computed again from the stored state if another process
        changed the item since (``Rated.recomputed``) — and record a question attempt with
        ``answer``."""
        if rating not in (1, 2, 3, 4):
            raise ValueError(f"rating must be 1-4, not {rating!r}")
        shown = self._preview
        self.preview()  # picks up a change made elsewhere: then computed from the stored state
        changed = shown is not None and self._preview is not shown
        assert self._current is not None and self._preview is not None and self._card is not None
        item, outcome = self._current, self._preview[rating]
        now = self.clock()
        was_new = self._card.last_review is None
        snapshot = self._taken_snapshot
        recomputed = changed
        if self.cram:
            record = None
            if rating == 1:
                self.queue.add_pending(
                    now + (self.config.learning_steps or (timedelta(minutes=1),))[0], item.id
                )
        else:
            duration = int((now - self._shown_at).total_seconds() * 1000) if self._shown_at else None
            record = sch.apply_rating(
                self.store,
                item,
                rating,
                outcome,
                now=now,
                duration_ms=duration,
                answer=answer,
                expected=self._card,
                scheduler=self.scheduler,
            )
            if record.outcome is not None:
                outcome = record.outcome
            recomputed = changed or record.recomputed
            day_end = sch.day_start(now, self.config) + timedelta(days=1)
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
            sch.RATING_NAMES[rating],
            None if self.cram else outcome.due,
            i18n.tr("cram_label", "en") if self.cram else sch.interval_label(interval),
            item,
            recomputed,
            None if self.cram else interval,
        )

    def suspend(self) -> str:
        """Suspend the current item; returns its id (``title(id, lang)`` names it)."""
        return self._flag("suspend")

    def bury(self) -> str:
        """Bury the current item until tomorrow; returns its id. The remaining count goes down:
        a new item buried still counts against today's new limit."""
        return self._flag("bury")

    def _flag(self, kind: str) -> str:
        if self._current is None:
            raise RuntimeError("no current item")
        item = self._current
        now = self.clock()
        was_new = self._card is None or self._card.last_review is None
        if self.cram and kind == "bury":
            record = None  # burying in cram just skips the item
        elif kind == "suspend":
            record = sch.suspend(self.store, item.id, item.kind, now=now)
        else:
            record = sch.bury(self.store, item.id, item.kind, now=now, config=self.config)
        snapshot = self._taken_snapshot
        self._push(kind, record, snapshot, was_new)
        self._requeued.pop(item.id, None)
        if kind == "suspend":
            self._summary.suspended += 1
        else:
            self._summary.buried += 1
        self._clear_current()
        return item.id

    def undo(self) -> str | None:
        """Take back the last rating, suspension or burial of this session: the item's stored state
        is restored exactly, its log row deleted, and it becomes the current item again.

        Raises :class:`scheduler.ChangedElsewhere` (and drops that step from the undo history)
        when another process reviewed the item since: undoing would throw its review away."""
        if not self._undo:
            return None
        action = self._undo.pop()
        if action.record is not None:
            sch.undo(self.store, action.record)  # may raise ChangedElsewhere: nothing changed
        now = self.clock()
        self._clear_current()
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
        """What this session did so far, and when something is next due."""
        s = self._summary
        now = self.clock()
        s.now = now
        s.seconds = (now - self._started).total_seconds()
        c = self.queue.counts(now)
        if self._current is not None and self._card is not None:  # shown, not done: waiting too
            if self._card.last_review is None:
                c = c._replace(new=c.new + 1)
            elif self._card.state == State.Review:
                c = c._replace(review=c.review + 1)
            else:
                c = c._replace(learning=c.learning + 1)
        s.counts = c
        limited = self.limit is not None and s.rated >= self.limit
        s.finished = self._current is None and not limited and self.queue.next_would_show(now) is None
        pending = self.queue.next_pending_due()
        stored = None if self.cram else sch.next_due(self.store, self.content, now=now, config=self.config)
        if not s.finished:
            s.next_due = now
        else:
            s.next_due = min((d for d in (pending, stored) if d is not None), default=None)
        return s
