"""Item states: reading and writing what the store keeps for each item — ratings and their undo,
suspend/bury and their restore, and rescheduling from the log when the settings change.

Each write returns an :class:`UndoRecord`; :func:`undo` puts the item's row back exactly as it was
and deletes the log row (and the question attempt) the write added. Every function takes ``now=``
(a UTC datetime) so tests control the clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fsrs import Card, Rating, ReviewLog

from studytool.config import Config, load_config
from studytool.i18n import LANGS, Msg, when_text
from studytool.srs.fsrs_adapter import (
    FsrsScheduler,
    Outcome,
    card_id_for,
    current_scheduler,
    day_start,
    new_card,
    preview,
)
from studytool.srs.items import ReviewItem, review_items
from studytool.store import Store, from_iso, to_iso, utcnow


@dataclass
class ItemState:
    """An item's stored scheduling state."""

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
    row = store.state_row(item_id)
    return _state_from_row(row) if row else None


def load_states(store: Store) -> dict[str, ItemState]:
    return {r["item_id"]: _state_from_row(r) for r in store.state_rows()}


def state_row(
    item_id: str,
    kind: str,
    card: Card,
    now: datetime,
    *,
    suspended: bool = False,
    buried_until: str | None = None,
) -> dict[str, Any]:
    """The store's row for an item whose fsrs card is ``card``."""
    return {
        "item_id": item_id,
        "kind": kind,
        "card_json": card.to_json(),
        "due": to_iso(card.due),
        "state": int(card.state),
        "suspended": int(suspended),
        "buried_until": buried_until,
        "updated_at": to_iso(now),
        "last_review": to_iso(card.last_review) if card.last_review else None,
    }


# --------------------------------------------------------------------------- rate / undo


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


class ChangedElsewhere(Exception):
    """The item was changed by another process (or window) after this write: undoing it would
    throw that change away, so the undo is refused. ``item_id`` names the item."""

    def __init__(self, item_id: str) -> None:
        super().__init__(f"{item_id}: changed by another process since; not undone")
        self.item_id = item_id


class AlreadyReviewed(Exception):
    """The item's stored state is no longer the one the rating was computed from: another process
    (or window) reviewed it since it was shown. Nothing was written."""

    def __init__(self, item_id: str) -> None:
        super().__init__(f"{item_id}: already reviewed elsewhere since it was shown; not applied")
        self.item_id = item_id


@dataclass(frozen=True)
class QuestionAnswer:
    """What the learner did on a question before rating it."""

    answer_text: str = ""
    recalled: tuple[int, ...] = ()  # indexes of the key points marked as recalled
    total_points: int = 0


def same_card(stored: Card | None, expected: Card) -> bool:
    """Is the stored state the one a preview was computed from? Two never-reviewed cards are the
    same (a new item is previewed from a fresh card whatever its stored row holds)."""
    if stored is None or stored.last_review is None:
        return expected.last_review is None
    return bool(stored.to_json() == expected.to_json())


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
) -> UndoRecord:
    """Store the rating's outcome (exactly the previewed card) and its log row: one transaction.

    With ``expected`` (the card the preview was computed from), the item's state is re-read under
    the write lock (BEGIN IMMEDIATE) and compared: when another process changed it since,
    :class:`AlreadyReviewed` is raised and nothing is written — a rating is never applied to a
    state it was not computed from, and one card shown in two windows is reviewed once."""
    item_id, kind = (item.id, item.kind) if isinstance(item, ReviewItem) else item
    now = now or utcnow()
    with store.tx():
        before = store.state_row(item_id)
        prev = Card.from_json(before["card_json"]) if before else None
        if expected is not None and not same_card(prev, expected):
            raise AlreadyReviewed(item_id)
        reviewed_at = outcome.log.review_datetime
        prev_json = prev.to_json() if prev is not None and prev.last_review is not None else None
        row = state_row(
            item_id, kind, outcome.card, now, suspended=bool(before["suspended"]) if before else False
        )
        store.write_state(row)
        log_id = store.insert_review(
            item_id, kind, int(rating), reviewed_at, duration_ms, prev_json, outcome.card.to_json()
        )
        attempt_id = None
        if kind == "question" and answer is not None:
            attempt_id = store.record_question_attempt(
                item_id, answer.answer_text, answer.recalled, answer.total_points, int(rating), at=reviewed_at
            )
    return UndoRecord(item_id, "rate", before, log_id, attempt_id, int(rating), row["card_json"], outcome)


def rate(
    store: Store,
    item: ReviewItem,
    rating: int,
    *,
    now: datetime | None = None,
    config: Config | None = None,
    scheduler: FsrsScheduler | None = None,
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
        store, item, rating, outcome, now=now, answer=answer, duration_ms=duration_ms, expected=card
    )


def undo(store: Store, record: UndoRecord) -> None:
    """Take one write back: the item's row returns exactly as it was; the log row (and the question
    attempt) the write added are deleted. One transaction.

    Raises :class:`ChangedElsewhere` (and changes nothing) when the item's stored state is no
    longer the one this write left: another process reviewed it since."""
    with store.tx():
        if record.after_json is not None:
            now_row = store.state_row(record.item_id)
            if now_row is None or now_row["card_json"] != record.after_json:
                raise ChangedElsewhere(record.item_id)
        if record.log_id is not None:
            store.delete_review(record.log_id)
        if record.attempt_id is not None:
            store.delete_question_attempt(record.attempt_id)
        store.delete_state(record.item_id)
        if record.before is not None:
            store.write_state(record.before)


# --------------------------------------------------------------------------- suspend / bury


def _set_flags(
    store: Store, item_id: str, kind: str, action: str, now: datetime, **changes: Any
) -> UndoRecord:
    with store.tx():
        before = store.state_row(item_id)
        if before is None and action in ("unsuspend", "unbury"):
            return UndoRecord(item_id, action, None)  # nothing to put back
        row = dict(before) if before else state_row(item_id, kind, new_card(item_id, now), now)
        row.update(changes)
        row["updated_at"] = to_iso(now)
        store.write_state(row)
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


def unbury(store: Store, item_id: str, kind: str = "card", *, now: datetime | None = None) -> UndoRecord:
    """Back into today's queue: clears the burial only (a suspension stays)."""
    return _set_flags(store, item_id, kind, "unbury", now or utcnow(), buried_until=None)


def suspended_items(store: Store) -> list[str]:
    return store.suspended_ids()


def buried_items(store: Store, now: datetime | None = None) -> list[str]:
    """Items buried until a time after ``now`` (and not suspended), by id."""
    return store.buried_ids(now or utcnow())


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
    out = [
        HeldItem(
            item_id,
            kind,
            "suspended" if suspended else "buried",
            None if suspended or not buried_until else from_iso(buried_until),
            items.get(item_id),
        )
        for item_id, kind, suspended, buried_until in store.held_rows(now)
    ]
    out.sort(key=lambda h: (h.how != "suspended", rank.get(h.item_id, len(rank)), h.item_id))
    return out


@dataclass(frozen=True)
class Restored:
    """What putting a held item back does — when it will actually be shown.

    ``comes``: "now" (due now), "today" (later today: ``at``, or in its turn among today's new
    cards), "tomorrow" (a new card when today's new cards are used up: ``at`` is when the next
    study day begins), "later" (a reviewed item not due before ``at``), "held" (still suspended:
    only a burial was lifted)."""

    item_id: str
    was: str  # "suspended" | "buried"
    comes: str
    at: datetime | None
    new_limit: int | None  # "tomorrow": the daily limit that is used up
    record: UndoRecord

    def msg(self, title: str, now: datetime) -> Msg:
        """What to tell the learner ("Back in review: … comes tomorrow 04:00 — today's 20 new
        cards are used up"), times relative to ``now``."""
        fields: dict[str, Any] = {"title": title}
        if self.at is not None:
            fields["at"] = {lang: when_text(self.at, now, lang) for lang in LANGS}
        if self.comes == "tomorrow":
            fields["limit"] = self.new_limit
        return Msg(f"review.restored_{self.comes}", **fields)


def restore_held(
    store: Store, held: HeldItem, *, now: datetime | None = None, config: Config | None = None
) -> Restored:
    """Put a held item back (unsuspend a suspended one, unbury a buried one) and say when it will
    come: a new card waits for a free place among today's new cards (tomorrow once they are used
    up), a reviewed one for its due date."""
    now = now or utcnow()
    config = config or load_config()
    if held.how == "suspended":
        record = unsuspend(store, held.item_id, held.kind, now=now)
    else:
        record = unbury(store, held.item_id, held.kind, now=now)
    st = load_state(store, held.item_id)
    end_of_day = day_start(now, config) + timedelta(days=1)
    if st is not None and st.suspended:
        return Restored(held.item_id, held.how, "held", None, None, record)
    if st is None or st.is_new:
        used = store.new_introduced_since(day_start(now, config))
        if used >= config.new_per_day:
            return Restored(held.item_id, held.how, "tomorrow", end_of_day, config.new_per_day, record)
        return Restored(held.item_id, held.how, "today", None, None, record)
    due = st.card.due
    if due <= now:
        return Restored(held.item_id, held.how, "now", None, None, record)
    if due < end_of_day:
        return Restored(held.item_id, held.how, "today", due, None, record)
    return Restored(held.item_id, held.how, "later", due, None, record)


# --------------------------------------------------------------------------- settings changed


def rebuild_card(scheduler: FsrsScheduler, item_id: str, log_rows: list[tuple[int, str]]) -> Card:
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
        for item_id, rows in store.logs_by_item().items():
            before = store.state_row(item_id)
            card = rebuild_card(scheduler, item_id, [(r.rating, r.reviewed_at) for r in rows])
            if before is not None and before["card_json"] == card.to_json():
                continue
            row = state_row(
                item_id,
                before["kind"] if before else rows[0].kind,
                card,
                now,
                suspended=bool(before["suspended"]) if before else False,
                buried_until=before["buried_until"] if before else None,
            )
            store.write_state(row)
            changed += 1
        store.meta_set("applied_scheduler", scheduler.to_dict())
    return changed


def ensure_applied(store: Store, scheduler: FsrsScheduler, *, now: datetime | None = None) -> int:
    """Make the stored schedule match the current settings: when the scheduler differs from the one
    the states were computed with (settings edited, parameters fitted), reschedule from the log."""
    applied = store.meta_get("applied_scheduler")
    wanted = json.loads(json.dumps(scheduler.to_dict()))  # as stored: lists, not tuples
    if applied == wanted:
        return 0
    if applied is None and not store.has_reviews():
        store.meta_set("applied_scheduler", wanted)
        return 0
    return reschedule_all(store, scheduler, now=now)
