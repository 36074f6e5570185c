"""What to review next: the queue of a session and Anki's three counts.

Order: learning/relearning steps that are due now, then items due today, then new items up to the
daily limit; within each, the most urgent first, except that no more than
``max_same_topic_in_row`` items of one topic come in a row while another topic is available.

The daily new limit counts items *introduced* today — reviewed for the first time (as Anki
counts it): burying or suspending a new card does not use up a place, so every build of the queue
gives the same count, before and after cram, a restore or another window's writes.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import fsrs
from fsrs import Card, State

from studytool.config import Config, load_config
from studytool.srs.fsrs_adapter import current_scheduler, day_start, retrievability
from studytool.srs.items import ReviewItem, review_items
from studytool.store import Store, from_iso, to_iso, utcnow


class Counts(NamedTuple):
    """The three counts of a review, as in Anki: new items still to be introduced today,
    learning/relearning steps due now (or within the learn-ahead window), review items due today.
    One definition, from the queue (:meth:`Queue.counts`, :func:`review_counts`), used by Review,
    Today, ``today --json``, ``stats --json`` and ``review --plain``."""

    new: int
    learning: int
    review: int

    @property
    def total(self) -> int:
        return self.new + self.learning + self.review

    @property
    def due_now(self) -> int:
        """Learning plus review: what is due (Today's "due now")."""
        return self.learning + self.review

    def plus(self, key: str | None) -> Counts:
        """These counts with one more ``key`` ("new" | "learning" | "review"; None: unchanged)."""
        if key is None:
            return self
        return self._replace(**{key: getattr(self, key) + 1})

    def __getitem__(self, key: Any) -> Any:
        # the dictionary keys of earlier versions: "due" was the review count
        if isinstance(key, str):
            return {"new": self.new, "learning": self.learning, "review": self.review, "due": self.review}[
                key
            ]
        return tuple.__getitem__(self, key)

    def to_json(self) -> dict[str, int]:
        return {"new": self.new, "learning": self.learning, "review": self.review}


def count_key(card: Card) -> str:
    """Which of the three counts an item with this card is in."""
    if card.last_review is None:
        return "new"
    return "review" if card.state == State.Review else "learning"


@dataclass
class _Tier:
    """Items grouped by topic, each group in priority order; consumed from the heads."""

    groups: dict[str, list[tuple[Any, str]]] = field(default_factory=dict)
    heads: dict[str, int] = field(default_factory=dict)

    def add_sorted(self, entries: Iterable[tuple[Any, str, str]]) -> None:
        for key, item_id, topic in sorted(entries, key=lambda e: (e[0], e[1])):
            self.groups.setdefault(topic, []).append((key, item_id))
            self.heads.setdefault(topic, 0)

    def candidates(self) -> list[tuple[Any, str, str]]:
        """(key, item_id, topic) of each topic's head, best first."""
        out = [
            (g[self.heads[t]][0], g[self.heads[t]][1], t)
            for t, g in self.groups.items()
            if self.heads[t] < len(g)
        ]
        out.sort(key=lambda e: (e[0], e[1]))
        return out

    def take(self, topic: str) -> None:
        self.heads[topic] += 1

    def discard(self, item_id: str) -> bool:
        """Drop an item not taken yet (it is being shown already)."""
        for topic, group in self.groups.items():
            for i in range(self.heads[topic], len(group)):
                if group[i][1] == item_id:
                    del group[i]
                    return True
        return False

    def __len__(self) -> int:
        return sum(len(g) - self.heads[t] for t, g in self.groups.items())


@dataclass(frozen=True)
class QueueSnapshot:
    """The queue's position, for undo."""

    heads: tuple[dict[str, int], dict[str, int]]
    pending: list[tuple[datetime, str, str]]
    last_topic: str | None
    run: int
    new_left: int
    last_item: str | None = None


class Queue:
    """What to review next (see the module doc for the order).

    Learning steps that come due during the session join it; when nothing else is left, a step due
    within ``learn_ahead`` is shown early (as Anki does). The item just shown never comes straight
    back while anything else is waiting (an Again card waits for its step, others come first —
    when only learning steps remain, another step within the window goes before it, as in Anki).
    """

    def __init__(
        self, items: dict[str, ReviewItem], *, max_run: int, learn_ahead: timedelta, new_left: int
    ) -> None:
        self.items = items
        self.max_run = max_run
        self.learn_ahead = learn_ahead
        self.due = _Tier()
        self.new = _Tier()
        self.pending: list[tuple[datetime, str, str]] = []  # sorted (due, item_id, topic)
        self.last_topic: str | None = None
        self.run = 0
        self.new_left = new_left
        self.new_ids: set[str] = set()
        self.last_item: str | None = None  # the item taken last (not shown again straight away)

    # -- state for undo
    def snapshot(self) -> QueueSnapshot:
        return QueueSnapshot(
            (dict(self.due.heads), dict(self.new.heads)),
            list(self.pending),
            self.last_topic,
            self.run,
            self.new_left,
            self.last_item,
        )

    def restore(self, snap: QueueSnapshot) -> None:
        self.due.heads, self.new.heads = dict(snap.heads[0]), dict(snap.heads[1])
        self.pending = list(snap.pending)
        self.last_topic, self.run, self.new_left = snap.last_topic, snap.run, snap.new_left
        self.last_item = snap.last_item

    # -- filling
    def add_pending(self, due: datetime, item_id: str) -> None:
        self.pending = [p for p in self.pending if p[1] != item_id]
        bisect.insort(self.pending, (due, item_id, self.items[item_id].topic))

    def discard(self, item_id: str) -> None:
        """Take an item out of the queue without showing it (it is already being shown)."""
        self.pending = [p for p in self.pending if p[1] != item_id]
        self.due.discard(item_id)
        if self.new.discard(item_id):
            self.new_ids.discard(item_id)

    def counts(self, now: datetime) -> Counts:
        """What is left to show (not counting an item being shown)."""
        learning = sum(1 for p in self.pending if p[0] <= now + self.learn_ahead)
        return Counts(min(len(self.new), self.new_left), learning, len(self.due))

    def remaining(self, now: datetime) -> int:
        return self.counts(now).total

    # -- taking
    def _ok(self, topic: str) -> bool:
        return topic != self.last_topic or self.run < self.max_run

    def _choose(self, now: datetime, avoid: str | None) -> tuple[str, tuple[Any, str, str]] | None:
        due_now = [p for p in self.pending if p[0] <= now and p[1] != avoid]
        tiers: list[tuple[str, list[tuple[Any, str, str]]]] = [
            ("pending", due_now),
            ("due", self.due.candidates()),
        ]
        if self.new_left > 0:
            tiers.append(("new", self.new.candidates()))
        for name, cands in tiers:
            if not cands:
                continue
            return name, next((c for c in cands if self._ok(c[2])), cands[0])
        ahead = now + self.learn_ahead
        for p in self.pending:
            if p[0] > ahead:
                break
            if p[1] != avoid:
                return "pending", p
        return None

    def next(self, now: datetime) -> str | None:
        """Take the next item id (None when the session has nothing more to show now)."""
        chosen = self._choose(now, self.last_item) or self._choose(now, None)
        if chosen is None:
            return None
        name, (key, item_id, topic) = chosen
        if name == "pending":
            self.pending.remove((key, item_id, topic))
        elif name == "due":
            self.due.take(topic)
        else:
            self.new.take(topic)
            self.new_left -= 1
        if topic == self.last_topic:
            self.run += 1
        else:
            self.last_topic, self.run = topic, 1
        self.last_item = item_id
        return item_id

    def next_would_show(self, now: datetime) -> str | None:
        """The id :meth:`next` would take now, without taking it."""
        chosen = self._choose(now, self.last_item) or self._choose(now, None)
        return chosen[1][1] if chosen else None

    def next_pending_due(self) -> datetime | None:
        return self.pending[0][0] if self.pending else None


def new_introduced_today(store: Store, now: datetime, config: Config) -> int:
    """Items reviewed for the first time since the study day began."""
    return store.new_introduced_since(day_start(now, config))


def review_counts(
    store: Store,
    content: Any,
    *,
    now: datetime | None = None,
    config: Config | None = None,
    topic: str | None = None,
) -> Counts:
    """The three counts a review session started now would show: Anki's new / learning / review.
    The one definition used everywhere (Review, Today, ``today --json``, ``stats --json``)."""
    now = now or utcnow()
    return build_queue(store, content, now=now, config=config, topic=topic).counts(now)


def next_due(
    store: Store, content: Any, *, now: datetime | None = None, config: Config | None = None
) -> datetime | None:
    """When something is next due: the earliest due date of a reviewed item that is not suspended
    (a buried one not before its burial ends; ``now`` when one is overdue), or the next study day
    when new items remain. None when nothing is ever due (everything suspended)."""
    now = now or utcnow()
    config = config or load_config()
    now_iso = to_iso(now)
    best: str | None = None
    new_left = False
    rows = store.queue_rows()
    for it in review_items(content):
        r = rows.get(it.id)
        if r is None:
            new_left = True
            continue
        if r.suspended:
            continue
        if r.is_new:
            new_left = True
            continue
        when = max(r.due, r.buried_until or "", now_iso)  # ISO UTC strings compare in time order
        if best is None or when < best:
            best = when
    out = from_iso(best) if best is not None else None
    if new_left:
        tomorrow = day_start(now, config) + timedelta(days=1)
        out = tomorrow if out is None or tomorrow < out else out
    return out


def build_queue(
    store: Store,
    content: Any,
    *,
    now: datetime | None = None,
    config: Config | None = None,
    topic: str | None = None,
    cram: bool = False,
    scheduler: fsrs.Scheduler | None = None,
) -> Queue:
    """The review queue at ``now``. In cram mode: every item that is not suspended, the weakest
    (lowest retrievability) first and new ones last, with no daily limit."""
    now = now or utcnow()
    config = config or load_config()
    items = {it.id: it for it in review_items(content, topic)}
    end_of_day = day_start(now, config) + timedelta(days=1)
    q = Queue(
        items,
        max_run=config.max_same_topic_in_row,
        learn_ahead=timedelta(minutes=config.learn_ahead_minutes),
        new_left=0,
    )
    # ISO strings from to_iso() (all UTC, same format) compare in time order, so the hot loop
    # compares strings and parses only what it keeps.
    rows = store.queue_rows(with_stability=cram)
    now_iso, end_iso = to_iso(now), to_iso(end_of_day)
    due_entries: list[tuple[Any, str, str]] = []
    new_entries: list[tuple[Any, str, str]] = []
    if cram:
        scheduler = scheduler or current_scheduler(store, config)
    for it in items.values():
        r = rows.get(it.id)
        if r is not None and r.suspended:
            continue
        if not cram and r is not None and r.buried_until and r.buried_until > now_iso:
            continue  # buried
        if r is None or r.is_new:
            new_entries.append((it.order, it.id, it.topic))
            continue
        if cram:
            assert scheduler is not None and r.last_review is not None
            card = Card(
                card_id=0,
                state=State(r.state),
                stability=r.stability,
                due=now,
                last_review=from_iso(r.last_review),
            )
            due_entries.append((retrievability(card, now, scheduler) or 0.0, it.id, it.topic))
            continue
        if r.due >= end_iso:
            continue  # not due today
        if r.state == State.Review:
            due_entries.append((r.due, it.id, it.topic))
        else:
            q.pending.append((from_iso(r.due), it.id, it.topic))
    q.pending.sort()
    q.due.add_sorted(due_entries)
    q.new.add_sorted(new_entries)
    q.new_ids = {e[1] for e in new_entries}
    q.new_left = (
        len(new_entries) if cram else max(0, config.new_per_day - new_introduced_today(store, now, config))
    )
    return q
