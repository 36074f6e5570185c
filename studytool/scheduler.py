"""Spaced-repetition scheduling with FSRS (py-fsrs): the queue, ratings, undo, rebuild, stats.

Every flashcard and every question is a reviewable item keyed by its content id; its fsrs ``card_id``
is derived from that id (:func:`card_id_for`), never from a timestamp. All the scheduling arithmetic
is fsrs' own; this module decides *what* to review and keeps the store consistent.

- Datetimes are UTC everywhere here (fsrs refuses anything else); local time is for display and for
  deciding where a study day begins (``day_starts_at``, a local hour, as in Anki).
- :func:`preview` computes the outcome of all four ratings once; :func:`apply_rating` stores the one
  chosen, exactly as it was shown, together with its log row in one transaction.
- Fuzz is reproducible: the draw for a review is seeded from (card, review time, rating), so
  rebuilding an item from its log with fsrs' ``reschedule_card`` gives back the stored state
  bit for bit, due date included (:func:`doctor_check`).
- Each write returns an :class:`UndoRecord`; :func:`undo` puts the item's row back exactly as it was
  and deletes the log row (and the question attempt) the write added.
- Every function takes ``now=`` (a UTC datetime) so tests control the clock.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, NamedTuple

import fsrs
from fsrs import Card, Rating, ReviewLog, State

from studytool import i18n
from studytool.config import Config, load_config
from studytool.store import Store, from_iso, to_iso, utcnow

RATING_NAMES = dict(i18n.RATING_NAMES["en"])  # English; i18n.rating_name(r, lang) for both
STATE_NAMES = {State.Learning: "learning", State.Review: "review", State.Relearning: "relearning"}
MIN_OPTIMIZER_REVIEWS = 512  # fsrs' Optimizer keeps the defaults below this many reviews

# --------------------------------------------------------------------------- fsrs plumbing


def card_id_for(item_id: str) -> int:
    """The fsrs ``card_id`` of a content item: a stable 56-bit hash of its id."""
    return int.from_bytes(hashlib.blake2b(item_id.encode("utf-8"), digest_size=7).digest(), "big")


class FsrsScheduler(fsrs.Scheduler):
    """fsrs' scheduler, with the fuzz draw of each review seeded from (card, time, rating).

    fsrs fuzzes with the global ``random``; we seed it for the one call and put the global state
    back, so the same history always yields the same due dates and other users of ``random`` are
    unaffected. Everything else is fsrs' own ``review_card``.
    """

    def review_card(
        self,
        card: Card,
        rating: Rating,
        review_datetime: datetime | None = None,
        review_duration: int | None = None,
    ) -> tuple[Card, ReviewLog]:
        if review_datetime is None:
            raise ValueError("studytool always passes the review time explicitly")
        if not self.enable_fuzzing:
            return super().review_card(card, rating, review_datetime, review_duration)
        saved = random.getstate()
        random.seed(f"{card.card_id}|{review_datetime.isoformat()}|{int(rating)}")
        try:
            return super().review_card(card, rating, review_datetime, review_duration)
        finally:
            random.setstate(saved)


def make_scheduler(config: Config, parameters: Sequence[float] | None = None) -> FsrsScheduler:
    return FsrsScheduler(
        parameters=tuple(parameters) if parameters else fsrs.scheduler.DEFAULT_PARAMETERS,
        desired_retention=config.desired_retention,
        learning_steps=config.learning_steps,
        relearning_steps=config.relearning_steps,
        maximum_interval=config.maximum_interval,
        enable_fuzzing=config.enable_fuzzing,
    )


def _meta_get(store: Store, key: str) -> Any:
    row = store.conn.execute("SELECT value FROM scheduler_meta WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def _meta_set(store: Store, key: str, value: Any) -> None:
    store.conn.execute(
        "INSERT INTO scheduler_meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, json.dumps(value)),
    )


def fitted_parameters(store: Store) -> list[float] | None:
    """The parameters `studytool optimize` fitted, or None (fsrs' defaults apply)."""
    return _meta_get(store, "parameters")


def current_scheduler(store: Store, config: Config | None = None) -> FsrsScheduler:
    """The scheduler the settings ask for: the config plus any fitted parameters."""
    return make_scheduler(config or load_config(), fitted_parameters(store))


def applied_scheduler(store: Store) -> FsrsScheduler | None:
    """The scheduler the stored item states were computed with (None: not recorded yet)."""
    data = _meta_get(store, "applied_scheduler")
    return FsrsScheduler.from_dict(data) if data else None


def retrievability(card: Card, now: datetime, scheduler: fsrs.Scheduler) -> float | None:
    """fsrs' forgetting curve at ``now``, from *fractional* elapsed days (fsrs' own helper floors
    to whole days). None for an item never reviewed."""
    if card.last_review is None or not card.stability:
        return None
    elapsed = max(0.0, (now - card.last_review).total_seconds() / 86400.0)
    decay = -scheduler.parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    return (1 + factor * elapsed / card.stability) ** decay


def interval_label(delta: timedelta, lang: str = "en") -> str:
    """Compact interval as Anki shows it on the answer buttons: 1m, 10m, 3h, 4d, 2.1mo, 1.5y
    (see :func:`studytool.i18n.interval_label`, which also speaks Chinese)."""
    return i18n.interval_label(delta, lang)


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


def study_day(dt: datetime, config: Config) -> Any:
    """The local study date ``dt`` falls in (a ``date``)."""
    return (dt.astimezone() - timedelta(hours=config.day_starts_at)).date()


# --------------------------------------------------------------------------- items and states


class ReviewItem(NamedTuple):
    """A reviewable content item: a flashcard or a question (``obj``: the content object)."""

    id: str
    kind: str  # "card" | "question"
    type: str  # "basic" | "cloze" | "truefalse" | "question"
    topic: str
    order: float  # position among new items
    obj: Any

    def title(self, lang: str = "en", width: int = 48) -> str:
        """What the learner knows the item by (for status lines such as "undid …"): a question's
        number and title ("Q13 Why scale by √d_k?"); a card's prompt, first line, shortened to
        ``width`` characters."""
        return item_title(self.obj, self.kind, lang, width, fallback=self.id)


def review_items(content: Any, topic: str | None = None) -> list[ReviewItem]:
    """Every card and question, in the order new ones are introduced: cards in deck order, each
    question right after the last card that links to it (so the cards prepare the question)."""
    cached = _ITEMS_CACHE.get("last")
    if (
        cached is not None
        and cached[0] is content
        and cached[1] == (len(content.cards), len(content.questions))
    ):
        items = cached[2]
    else:
        items = _review_items(content)
        _ITEMS_CACHE["last"] = (content, (len(content.cards), len(content.questions)), items)
    if topic is not None:
        return [it for it in items if it.topic == topic]
    return list(items)


def item_title(obj: Any, kind: str, lang: str = "en", width: int = 48, *, fallback: str = "") -> str:
    lang = "zh" if lang == "zh" else "en"
    try:
        if kind == "question":
            text = f"Q{obj.number} {obj.title.get(lang)}"
        else:
            text = obj.prompt(lang)
    except (AttributeError, AssertionError, KeyError, TypeError):
        return fallback
    text = " ".join(text.split()) or fallback
    return text if len(text) <= width else text[: max(1, width - 1)].rstrip() + "…"


_ITEMS_CACHE: dict[str, tuple[Any, tuple[int, int], list[ReviewItem]]] = {}


def _review_items(content: Any) -> list[ReviewItem]:
    cards = list(content.cards)
    questions = list(content.questions)
    last_card: dict[str, int] = {}
    for i, c in enumerate(cards):
        for q in getattr(c, "questions", ()) or ():
            last_card[q] = i
    items = [ReviewItem(c.id, "card", c.type, c.topic, float(i), c) for i, c in enumerate(cards)]
    for j, q in enumerate(questions):
        order = last_card[q.id] + 0.5 if q.id in last_card else len(cards) + j
        items.append(ReviewItem(q.id, "question", "question", q.topic, order, q))
    items.sort(key=lambda it: it.order)
    return items


@dataclass
class ItemState:
    item_id: str
    kind: str
    card: Card
    suspended: bool = False
    buried_until: datetime | None = None

    @property
    def is_new(self) -> bool:
        return self.card.last_review is None


def _state_from_row(r: dict[str, Any]) -> ItemState:
    return ItemState(
        r["item_id"],
        r["kind"],
        Card.from_json(r["card_json"]),
        bool(r["suspended"]),
        from_iso(r["buried_until"]) if r["buried_until"] else None,
    )


def load_state(store: Store, item_id: str) -> ItemState | None:
    row = _row(store, item_id)
    return _state_from_row(row) if row else None


def load_states(store: Store) -> dict[str, ItemState]:
    return {r["item_id"]: _state_from_row(r) for r in store.db.query("SELECT * FROM item_state")}


def new_card(item_id: str, now: datetime) -> Card:
    return Card(card_id=card_id_for(item_id), due=now)


def _row(store: Store, item_id: str) -> dict[str, Any] | None:
    cur = store.conn.execute("SELECT * FROM item_state WHERE item_id = ?", (item_id,))
    row = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], row)) if row else None


def _write_row(store: Store, row: dict[str, Any]) -> None:
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    store.conn.execute(f"INSERT OR REPLACE INTO item_state ({cols}) VALUES ({marks})", tuple(row.values()))


def _state_row(
    item_id: str,
    kind: str,
    card: Card,
    now: datetime,
    *,
    suspended: bool = False,
    buried_until: str | None = None,
) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "kind": kind,
        "card_json": card.to_json(),
        "due": to_iso(card.due),
        "state": int(card.state),
        "suspended": int(suspended),
        "buried_until": buried_until,
        "updated_at": to_iso(now),
    }


# --------------------------------------------------------------------------- preview / rate / undo


class Outcome(NamedTuple):
    """What one rating does: the new fsrs card, its log, and the due date (UTC)."""

    card: Card
    log: ReviewLog
    due: datetime


def preview(scheduler: fsrs.Scheduler, card: Card, now: datetime) -> dict[int, Outcome]:
    """The outcome of each of the four ratings at ``now``. Compute once, show, then apply the chosen
    one with :func:`apply_rating` — the interval stored is the interval shown."""
    out: dict[int, Outcome] = {}
    for rating in Rating:
        new, log = scheduler.review_card(card, rating, review_datetime=now)
        out[int(rating)] = Outcome(new, log, new.due)
    return out


@dataclass(frozen=True)
class UndoRecord:
    """How to take one write back: the item's row before it, and what the write inserted."""

    item_id: str
    action: str  # "rate" | "suspend" | "unsuspend" | "bury" | "unbury"
    before: dict[str, Any] | None
    log_id: int | None = None
    attempt_id: int | None = None
    rating: int | None = None
    after_json: str | None = None  # the card_json this write left (undo checks it is still there)
    outcome: Outcome | None = field(default=None, compare=False)  # rate: what was stored
    recomputed: bool = False  # rate: the stored state had changed since the preview


class ChangedElsewhere(Exception):
    """The item was changed by another process (or window) after this write: undoing it would
    throw that change away, so the undo is refused. ``item_id`` names the item."""

    def __init__(self, item_id: str) -> None:
        super().__init__(f"{item_id}: changed by another process since; not undone")
        self.item_id = item_id


@dataclass(frozen=True)
class QuestionAnswer:
    """What the learner did on a question before rating it."""

    answer_text: str = ""
    recalled: tuple[int, ...] = ()  # indexes of the key points marked as recalled
    total_points: int = 0


def _same_card(stored: Card | None, expected: Card) -> bool:
    """Is the stored state the one a preview was computed from? Two never-reviewed cards are the
    same (a new item is previewed from a fresh card whatever its stored row holds)."""
    if stored is None or stored.last_review is None:
        return expected.last_review is None
    return stored.to_json() == expected.to_json()


def apply_rating(
    store: Store,
    item: ReviewItem | tuple[str, str],
    rating: int,
    outcome: Outcome,
    *,
    now: datetime | None = None,
    duration_ms: int | None = None,
    answer: QuestionAnswer | None = None,
    expected: Card | None = None,
    scheduler: fsrs.Scheduler | None = None,
) -> UndoRecord:
    """Store the rating's outcome (exactly the previewed card) and its log row: one transaction.

    With ``expected`` (the card the preview was computed from), the item's state is re-read under
    the write lock (BEGIN IMMEDIATE) and compared: when another process changed it since the
    preview, the rating is computed again from the state as stored, at ``now``, with
    ``scheduler`` — never written over a state it was not computed from. The record says so
    (``recomputed``) and carries the outcome actually stored."""
    item_id, kind = (item.id, item.kind) if isinstance(item, ReviewItem) else item
    now = now or utcnow()
    recomputed = False
    with store.tx():
        before = _row(store, item_id)
        prev = Card.from_json(before["card_json"]) if before else None
        if expected is not None and not _same_card(prev, expected):
            scheduler = scheduler or current_scheduler(store)
            base = prev if prev is not None and prev.last_review is not None else new_card(item_id, now)
            outcome = preview(scheduler, base, now)[int(rating)]
            recomputed = True
        reviewed_at = outcome.log.review_datetime
        prev_json = prev.to_json() if prev is not None and prev.last_review is not None else None
        row = _state_row(
            item_id, kind, outcome.card, now, suspended=bool(before["suspended"]) if before else False
        )
        _write_row(store, row)
        cur = store.conn.execute(
            "INSERT INTO review_log(item_id, kind, rating, reviewed_at, duration_ms, "
            "prev_card_json, card_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (item_id, kind, int(rating), to_iso(reviewed_at), duration_ms, prev_json, outcome.card.to_json()),
        )
        log_id = int(cur.lastrowid)
        attempt_id = None
        if kind == "question" and answer is not None:
            cur = store.conn.execute(
                "INSERT INTO question_attempts(question_id, answer_text, recalled_json, "
                "total_points, rating, at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    item_id,
                    answer.answer_text,
                    json.dumps(sorted(set(answer.recalled))),
                    answer.total_points,
                    int(rating),
                    to_iso(reviewed_at),
                ),
            )
            attempt_id = int(cur.lastrowid)
    return UndoRecord(
        item_id, "rate", before, log_id, attempt_id, int(rating), row["card_json"], outcome, recomputed
    )


def rate(
    store: Store,
    item: ReviewItem,
    rating: int,
    *,
    now: datetime | None = None,
    config: Config | None = None,
    scheduler: fsrs.Scheduler | None = None,
    answer: QuestionAnswer | None = None,
    duration_ms: int | None = None,
) -> UndoRecord:
    """Preview and apply in one go (for scripts and tests; the UI previews first). Like a session,
    it first brings the stored schedule in line with ``scheduler`` (see :func:`ensure_applied`)."""
    now = now or utcnow()
    scheduler = scheduler or current_scheduler(store, config)
    ensure_applied(store, scheduler, now=now)
    state = load_state(store, item.id)
    card = state.card if state and not state.is_new else new_card(item.id, now)
    outcome = preview(scheduler, card, now)[int(rating)]
    return apply_rating(
        store,
        item,
        rating,
        outcome,
        now=now,
        answer=answer,
        duration_ms=duration_ms,
        expected=card,
        scheduler=scheduler,
    )


def undo(store: Store, record: UndoRecord) -> None:
    """Take one write back: the item's row returns exactly as it was; the log row (and the question
    attempt) the write added are deleted. One transaction.

    Raises :class:`ChangedElsewhere` (and changes nothing) when the item's stored state is no
    longer the one this write left: another process reviewed it since."""
    with store.tx():
        if record.after_json is not None:
            now_row = _row(store, record.item_id)
            if now_row is None or now_row["card_json"] != record.after_json:
                raise ChangedElsewhere(record.item_id)
        if record.log_id is not None:
            store.conn.execute("DELETE FROM review_log WHERE id = ?", (record.log_id,))
        if record.attempt_id is not None:
            store.conn.execute("DELETE FROM question_attempts WHERE id = ?", (record.attempt_id,))
        store.conn.execute("DELETE FROM item_state WHERE item_id = ?", (record.item_id,))
        if record.before is not None:
            _write_row(store, record.before)


def _set_flags(
    store: Store, item_id: str, kind: str, action: str, now: datetime, **changes: Any
) -> UndoRecord:
    with store.tx():
        before = _row(store, item_id)
        if before is None and action in ("unsuspend", "unbury"):
            return UndoRecord(item_id, action, None)  # nothing to put back
        row = dict(before) if before else _state_row(item_id, kind, new_card(item_id, now), now)
        row.update(changes)
        row["updated_at"] = to_iso(now)
        _write_row(store, row)
    return UndoRecord(item_id, action, before, after_json=row["card_json"])


def suspend(store: Store, item_id: str, kind: str = "card", *, now: datetime | None = None) -> UndoRecord:
    """Take an item out of every queue until it is unsuspended (its schedule is kept)."""
    return _set_flags(store, item_id, kind, "suspend", now or utcnow(), suspended=1)


def unsuspend(store: Store, item_id: str, kind: str = "card", *, now: datetime | None = None) -> UndoRecord:
    """Back into the queues: clears both suspension and burial."""
    return _set_flags(store, item_id, kind, "unsuspend", now or utcnow(), suspended=0, buried_until=None)


def bury(
    store: Store,
    item_id: str,
    kind: str = "card",
    *,
    now: datetime | None = None,
    config: Config | None = None,
) -> UndoRecord:
    """Hide an item until the next study day begins."""
    now = now or utcnow()
    until = day_start(now, config or load_config()) + timedelta(days=1)
    return _set_flags(store, item_id, kind, "bury", now, buried_until=to_iso(until))


def suspended_items(store: Store) -> list[str]:
    return [
        r[0]
        for r in store.conn.execute("SELECT item_id FROM item_state WHERE suspended = 1 ORDER BY item_id")
    ]


def buried_items(store: Store, now: datetime | None = None) -> list[str]:
    """Items buried until a time after ``now`` (and not suspended), by id."""
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT item_id FROM item_state WHERE suspended = 0 AND buried_until IS NOT NULL "
            "AND buried_until > ? ORDER BY item_id",
            (to_iso(now or utcnow()),),
        )
    ]


def unbury(store: Store, item_id: str, kind: str = "card", *, now: datetime | None = None) -> UndoRecord:
    """Back into today's queue: clears the burial only (a suspension stays)."""
    return _set_flags(store, item_id, kind, "unbury", now or utcnow(), buried_until=None)


@dataclass(frozen=True)
class HeldItem:
    """A suspended or buried item, for the list that restores them (``studytool unsuspend``, the
    app's Suspended & buried list). ``item`` is None for an id no longer in the content."""

    item_id: str
    kind: str  # "card" | "question"
    how: str  # "suspended" | "buried"
    until: datetime | None  # buried: when it comes back by itself
    item: ReviewItem | None

    def title(self, lang: str = "en", width: int = 48) -> str:
        return self.item.title(lang, width) if self.item is not None else self.item_id


def held_items(store: Store, content: Any, now: datetime | None = None) -> list[HeldItem]:
    """Suspended items, then buried ones, each in content order (unknown ids last)."""
    now = now or utcnow()
    items = {it.id: it for it in review_items(content)} if content is not None else {}
    rank = {item_id: i for i, item_id in enumerate(items)}
    out: list[HeldItem] = []
    rows = store.conn.execute(
        "SELECT item_id, kind, suspended, buried_until FROM item_state "
        "WHERE suspended = 1 OR (buried_until IS NOT NULL AND buried_until > ?)",
        (to_iso(now),),
    ).fetchall()
    for item_id, kind, suspended, buried_until in rows:
        out.append(
            HeldItem(
                item_id,
                kind,
                "suspended" if suspended else "buried",
                None if suspended else from_iso(buried_until),
                items.get(item_id),
            )
        )
    out.sort(key=lambda h: (h.how != "suspended", rank.get(h.item_id, len(rank)), h.item_id))
    return out


def restore_held(store: Store, held: HeldItem, *, now: datetime | None = None) -> UndoRecord:
    """Put a held item back: unsuspend a suspended one, unbury a buried one."""
    if held.how == "suspended":
        return unsuspend(store, held.item_id, held.kind, now=now)
    return unbury(store, held.item_id, held.kind, now=now)


# --------------------------------------------------------------------------- the queue


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

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        # the dictionary keys of earlier versions: "due" was the review count
        if isinstance(key, str):
            return {"new": self.new, "learning": self.learning, "review": self.review, "due": self.review}[
                key
            ]
        return tuple.__getitem__(self, key)

    def to_json(self) -> dict[str, int]:
        return {"new": self.new, "learning": self.learning, "review": self.review}


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
    heads: tuple[dict[str, int], dict[str, int]]
    pending: list[tuple[datetime, str, str]]
    last_topic: str | None
    run: int
    new_left: int
    last_item: str | None = None


class Queue:
    """What to review next.

    Order: learning/relearning steps that are due now, then items due today, then new items up to
    the daily limit; within each, the most urgent first, except that no more than
    ``max_same_topic_in_row`` items of one topic come in a row while another topic is available.
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


# "never reviewed": fsrs writes "last_review": null until the first review (a string test is
# much cheaper than parsing 10,000 JSON documents)
_IS_NEW_SQL = "instr(card_json, '\"last_review\": null') > 0"
_NEW_ROWS_SQL = f"SELECT item_id FROM item_state WHERE state = 1 AND {_IS_NEW_SQL}"


def new_introduced_today(store: Store, now: datetime, config: Config) -> int:
    start = to_iso(day_start(now, config))
    return int(
        store.conn.execute(
            "SELECT COUNT(*) FROM review_log WHERE reviewed_at >= ? AND prev_card_json IS NULL", (start,)
        ).fetchone()[0]
    )


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
    ids = {it.id for it in review_items(content)}
    now_iso = to_iso(now)
    best: str | None = None
    new_left = False
    rows = {
        r[0]: r
        for r in store.conn.execute(
            "SELECT item_id, due, buried_until, suspended, " + _IS_NEW_SQL + " FROM item_state"
        )
    }
    for item_id in ids:
        r = rows.get(item_id)
        if r is None:
            new_left = True
            continue
        _, due, buried_until, suspended, is_new = r
        if suspended:
            continue
        if is_new:
            new_left = True
            continue
        when = max(due, buried_until or "", now_iso)  # ISO UTC strings compare in time order
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
    sql = (
        "SELECT item_id, due, state, suspended, buried_until, 0"
        + (
            ", json_extract(card_json, '$.stability'), json_extract(card_json, '$.last_review')"
            if cram
            else ""
        )
        + " FROM item_state"
    )
    rows = {r[0]: r for r in store.conn.execute(sql)}
    for (item_id,) in store.conn.execute(_NEW_ROWS_SQL):  # rows of never-reviewed items
        rows[item_id] = (*rows[item_id][:5], 1, *rows[item_id][6:])
    now_iso, end_iso = to_iso(now), to_iso(end_of_day)
    due_entries, new_entries = [], []
    if cram:
        scheduler = scheduler or current_scheduler(store, config)
    for it in items.values():
        r = rows.get(it.id)
        if r is not None and r[3]:
            continue  # suspended
        if not cram and r is not None and r[4] and r[4] > now_iso:
            continue  # buried
        if r is None or r[5]:
            new_entries.append((it.order, it.id, it.topic))
            continue
        if cram:
            card = Card(card_id=0, state=State(r[2]), stability=r[6], due=now, last_review=from_iso(r[7]))
            due_entries.append((retrievability(card, now, scheduler) or 0.0, it.id, it.topic))
            continue
        if r[1] >= end_iso:
            continue  # not due today
        if r[2] == State.Review:
            due_entries.append((r[1], it.id, it.topic))
        else:
            q.pending.append((from_iso(r[1]), it.id, it.topic))
    q.pending.sort()
    q.due.add_sorted(due_entries)
    q.new.add_sorted(new_entries)
    q.new_ids = {e[1] for e in new_entries}
    q.new_left = (
        len(new_entries) if cram else max(0, config.new_per_day - new_introduced_today(store, now, config))
    )
    return q


# --------------------------------------------------------------------------- rebuild from the log


def _logs_by_item(store: Store) -> dict[str, list[tuple[int, str, int, str, str]]]:
    out: dict[str, list[tuple[int, str, int, str, str]]] = defaultdict(list)
    for r in store.conn.execute(
        "SELECT id, item_id, rating, reviewed_at, card_json FROM review_log ORDER BY item_id, reviewed_at, id"
    ):
        out[r[1]].append(r)
    return out


def rebuild_card(scheduler: fsrs.Scheduler, item_id: str, log_rows: Iterable[tuple[int, str]]) -> Card:
    """An item's card recomputed from its log with fsrs' ``reschedule_card``.
    ``log_rows`` are (rating, reviewed_at ISO) pairs."""
    cid = card_id_for(item_id)
    logs = [
        ReviewLog(card_id=cid, rating=Rating(rating), review_datetime=from_iso(at), review_duration=None)
        for rating, at in log_rows
    ]
    start = logs[0].review_datetime if logs else utcnow()
    return scheduler.reschedule_card(Card(card_id=cid, due=start), logs)


def reschedule_all(store: Store, scheduler: FsrsScheduler, *, now: datetime | None = None) -> int:
    """Recompute every reviewed item from the log with ``scheduler`` (after the settings or the
    parameters changed) and record it as the applied scheduler. One transaction; returns the number
    of items whose state changed."""
    now = now or utcnow()
    changed = 0
    with store.tx():
        logs = _logs_by_item(store)
        for item_id, rows in logs.items():
            before = _row(store, item_id)
            card = rebuild_card(scheduler, item_id, [(r[2], r[3]) for r in rows])
            if before is not None and before["card_json"] == card.to_json():
                continue
            kind = before["kind"] if before else _kind_of_log(store, rows[0][0])
            row = _state_row(
                item_id,
                kind,
                card,
                now,
                suspended=bool(before["suspended"]) if before else False,
                buried_until=before["buried_until"] if before else None,
            )
            _write_row(store, row)
            changed += 1
        _meta_set(store, "applied_scheduler", scheduler.to_dict())
    return changed


def _kind_of_log(store: Store, log_id: int) -> str:
    return str(store.conn.execute("SELECT kind FROM review_log WHERE id = ?", (log_id,)).fetchone()[0])


def ensure_applied(store: Store, scheduler: FsrsScheduler, *, now: datetime | None = None) -> int:
    """Make the stored schedule match the current settings: when the scheduler differs from the one
    the states were computed with (settings edited, parameters fitted), reschedule from the log."""
    applied = _meta_get(store, "applied_scheduler")
    wanted = scheduler.to_dict()
    if applied == wanted:
        return 0
    has_logs = store.conn.execute("SELECT 1 FROM review_log LIMIT 1").fetchone() is not None
    if applied is None and not has_logs:
        with store.tx():
            _meta_set(store, "applied_scheduler", wanted)
        return 0
    return reschedule_all(store, scheduler, now=now)


def _card_diff(stored: dict[str, Any], rebuilt: dict[str, Any]) -> list[str]:
    return [
        f"{k} {stored.get(k)!r} (rebuilt: {rebuilt.get(k)!r})"
        for k in ("state", "step", "stability", "difficulty", "due", "last_review")
        if stored.get(k) != rebuilt.get(k)
    ]


def doctor_check(store: Store, content: Any = None, *, config: Config | None = None) -> list[str]:
    """Rebuild every item's schedule from the review log (fsrs' ``reschedule_card``, under the
    scheduler the states were computed with, else the one ``config`` asks for) and compare with the
    stored state. Returns one line per problem; empty when consistent."""
    scheduler = applied_scheduler(store) or current_scheduler(store, config)
    problems: list[str] = []
    logs = _logs_by_item(store)
    states = {r["item_id"]: r for r in store.db.query("SELECT * FROM item_state")}
    for item_id, rows in logs.items():
        row = states.get(item_id)
        if row is None:
            problems.append(f"{item_id}: {len(rows)} review(s) in the log but no schedule state")
            continue
        rebuilt = rebuild_card(scheduler, item_id, [(r[2], r[3]) for r in rows]).to_dict()
        try:
            stored = json.loads(row["card_json"])
        except ValueError:
            problems.append(f"{item_id}: stored schedule state is not valid JSON")
            continue
        diff = _card_diff(stored, rebuilt)
        if diff:
            problems.append(
                f"{item_id}: stored schedule differs from the one rebuilt from its "
                f"{len(rows)} review(s): " + "; ".join(diff)
            )
    for item_id, row in states.items():
        try:
            card = json.loads(row["card_json"])
        except ValueError:
            if item_id not in logs:
                problems.append(f"{item_id}: stored schedule state is not valid JSON")
            continue
        if item_id not in logs and card.get("last_review") is not None:
            problems.append(f"{item_id}: has a review state but no reviews in the log")
        if card.get("card_id") != card_id_for(item_id):
            problems.append(
                f"{item_id}: fsrs card_id {card.get('card_id')} is not the one derived from its content id"
            )
        if row["state"] != card.get("state") or (
            card.get("due") and from_iso(row["due"]) != from_iso(card["due"])
        ):
            problems.append(f"{item_id}: state/due columns disagree with the stored card")
    return problems


def repair_schedule(store: Store, *, config: Config | None = None, now: datetime | None = None) -> int:
    """``doctor --fix``: make the stored schedule what the review log says. Every reviewed item is
    rebuilt from its log (:func:`reschedule_all`, under the scheduler the states were computed
    with, else the one the settings ask for); a state with no reviews behind it becomes a new item
    again (its suspension and burial are kept); state/due columns are rewritten from the card.
    One transaction; returns the number of items changed. The log itself is never changed."""
    now = now or utcnow()
    scheduler = applied_scheduler(store) or current_scheduler(store, config)
    with store.tx():
        changed = reschedule_all(store, scheduler, now=now)
        logged = {r[0] for r in store.conn.execute("SELECT DISTINCT item_id FROM review_log")}
        for row in store.db.query("SELECT * FROM item_state"):
            item_id = row["item_id"]
            try:
                card = Card.from_json(row["card_json"])
                ok = card.card_id == card_id_for(item_id) and (item_id in logged or card.last_review is None)
            except (ValueError, KeyError, TypeError):
                card, ok = None, False
            if not ok:
                if item_id in logged:
                    card = rebuild_card(
                        scheduler,
                        item_id,
                        [
                            (r[0], r[1])
                            for r in store.conn.execute(
                                "SELECT rating, reviewed_at FROM review_log WHERE item_id = ? "
                                "ORDER BY reviewed_at, id",
                                (item_id,),
                            )
                        ],
                    )
                else:
                    card = new_card(item_id, now)
            elif row["state"] == int(card.state) and from_iso(row["due"]) == card.due:
                continue
            _write_row(
                store,
                _state_row(
                    item_id,
                    row["kind"],
                    card,
                    now,
                    suspended=bool(row["suspended"]),
                    buried_until=row["buried_until"],
                ),
            )
            changed += 1
    return changed


# --------------------------------------------------------------------------- optimizer support


def optimizer_review_count(store: Store) -> int:
    """How many reviews fsrs' Optimizer will count: reviews on a later day than the item's previous
    review, among the first 64 reviews of each item (its own rule)."""
    n = 0
    for rows in _logs_by_item(store).values():
        times = [from_iso(r[3]) for r in rows[:64]]
        n += sum(1 for a, b in zip(times, times[1:]) if (b - a).days > 0)
    return n


def fsrs_review_logs(store: Store) -> list[ReviewLog]:
    return [
        ReviewLog(
            card_id=card_id_for(r[0]),
            rating=Rating(r[1]),
            review_datetime=from_iso(r[2]),
            review_duration=r[3],
        )
        for r in store.conn.execute(
            "SELECT item_id, rating, reviewed_at, duration_ms FROM review_log ORDER BY id"
        )
    ]


def save_parameters(
    store: Store, parameters: Sequence[float], *, config: Config | None = None, now: datetime | None = None
) -> int:
    """Keep fitted parameters and reschedule every item with them. Returns items changed."""
    config = config or load_config()
    scheduler = make_scheduler(config, parameters)  # validates the bounds
    with store.tx():
        _meta_set(store, "parameters", list(scheduler.parameters))
        return reschedule_all(store, scheduler, now=now)


# --------------------------------------------------------------------------- stats


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
    for (at,) in store.conn.execute(
        "SELECT reviewed_at FROM review_log WHERE reviewed_at >= ?", (to_iso(since),)
    ):
        back = (today - study_day(from_iso(at), config)).days
        if 0 <= back < days:
            counts[days - 1 - back] += 1
    return counts


def review_stats(
    store: Store, content: Any, now: datetime | None = None, config: Config | None = None
) -> dict[str, Any]:
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

    counts = {"total": len(items), "new": 0, "due": 0, "learning": 0, "review": 0}
    forecast = [0] * 30
    rows = {
        r[0]: r
        for r in store.conn.execute(
            "SELECT item_id, due, state, suspended, buried_until, " + _IS_NEW_SQL + " FROM item_state"
        )
    }
    for it in items:
        r = rows.get(it.id)
        if r is None or r[5]:
            counts["new"] += 1
            continue
        state = r[2]
        counts["review" if state == State.Review else "learning"] += 1
        if r[3]:
            continue  # suspended: neither due nor forecast
        due = from_iso(r[1])
        day = 0 if due < end_today else math.floor((due - today_start) / timedelta(days=1))
        if day < 30:
            forecast[day] += 1

    # "due": what a review session started now would show (learning + review), from the queue —
    # the one definition Review and Today share (review_counts)
    queue = review_counts(store, content, now=now, config=config)
    counts["due"] = queue.due_now

    total_reviews = int(store.conn.execute("SELECT COUNT(*) FROM review_log").fetchone()[0])
    t = store.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(prev_card_json IS NULL), 0), COALESCE(SUM(rating = 1), 0) "
        "FROM review_log WHERE reviewed_at >= ?",
        (to_iso(today_start),),
    ).fetchone()

    since = today_start - timedelta(days=29)
    first: dict[tuple[str, Any], int] = {}
    for item_id, rating, at in store.conn.execute(
        "SELECT item_id, rating, reviewed_at FROM review_log WHERE reviewed_at >= ? "
        "AND json_extract(prev_card_json, '$.state') = ? ORDER BY reviewed_at, id",
        (to_iso(since), int(State.Review)),
    ):
        first.setdefault((item_id, study_day(from_iso(at), config)), rating)
    by_topic: dict[str, list[int]] = defaultdict(list)
    for (item_id, _), rating in first.items():
        if item_id in topic_of:
            by_topic[topic_of[item_id]].append(rating)

    # study days with reviews: an hour of UTC lies within one local study day when the local
    # offset is whole hours (almost every zone); otherwise group by minute
    offset = now.astimezone().utcoffset() or timedelta(0)
    width, suffix = (13, ":00:00+00:00") if offset % timedelta(hours=1) == timedelta(0) else (16, ":00+00:00")
    days = set()
    for (bucket,) in store.conn.execute(f"SELECT DISTINCT substr(reviewed_at, 1, {width}) FROM review_log"):
        days.add(study_day(datetime.fromisoformat(bucket + suffix), config))
    streak = 0
    day = study_day(now, config)
    if day not in days:
        day -= timedelta(days=1)
    while day in days:
        streak += 1
        day -= timedelta(days=1)

    topics: dict[str, dict[str, Any]] = {}
    for it in items:
        topics.setdefault(it.topic, {"items": 0, "retention_30d": None})["items"] += 1
    for topic, ratings in by_topic.items():
        topics[topic]["retention_30d"] = _retention(ratings)

    return {
        "cards": counts,
        "queue": queue.to_json(),
        "reviews": total_reviews,
        "today": {"reviews": int(t[0]), "new": int(t[1]), "again": int(t[2])},
        "retention_30d": _retention(first.values()),
        "forecast_30d": forecast,
        "reviews_per_day_30d": reviews_per_day(store, now, config),
        "streak_days": streak,
        "topics": topics,
    }
