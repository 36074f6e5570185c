"""The card browser's core (the app's Browse screen and ``studytool cards``): every reviewable
item with its state, search, suspend/unsuspend, and one item's history. Facts only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fsrs import Card, State

from studytool.config import Config, load_config
from studytool.srs.fsrs_adapter import current_scheduler, retrievability
from studytool.srs.items import ReviewItem, review_items
from studytool.srs.states import UndoRecord, load_state, suspend, unsuspend
from studytool.store import Store, from_iso, utcnow

STATES = ("new", "learning", "review", "relearning")
FILTERS = ("all", "new", "learning", "review", "due", "suspended", "buried")
_STATE_NAMES = {State.Learning: "learning", State.Review: "review", State.Relearning: "relearning"}


@dataclass(frozen=True)
class CardRow:
    """One item as the browser lists it."""

    item: ReviewItem
    state: str  # new | learning | review | relearning
    due: datetime | None  # None: never reviewed
    suspended: bool
    buried_until: datetime | None
    reviews: int
    lapses: int
    stability: float | None  # days (fsrs)
    retrievability: float | None

    @property
    def id(self) -> str:
        return self.item.id

    def title(self, lang: str = "en", width: int = 60) -> str:
        return self.item.title(lang, width)

    def is_due(self, now: datetime) -> bool:
        return self.due is not None and self.due <= now and not self.suspended

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        return {
            "id": self.item.id,
            "kind": self.item.kind,
            "type": self.item.type,
            "topic": self.item.topic,
            "title": self.title(lang, 200),
            "state": self.state,
            "due": self.due.isoformat() if self.due else None,
            "suspended": self.suspended,
            "buried_until": self.buried_until.isoformat() if self.buried_until else None,
            "reviews": self.reviews,
            "lapses": self.lapses,
            "stability_days": round(self.stability, 2) if self.stability is not None else None,
            "retrievability": round(self.retrievability, 4) if self.retrievability is not None else None,
        }


def _text_of(obj: Any) -> str:
    """Everything searchable of a card or question, both languages, lower case."""
    parts: list[str] = []
    for name in ("title", "question", "answer", "front", "back", "text", "extra", "statement", "explanation"):
        value = getattr(obj, name, None)
        if value is not None and hasattr(value, "en"):
            parts.extend((value.en, value.zh))
    for kp in getattr(obj, "key_points", ()) or ():
        parts.extend((kp.en, kp.zh))
    return "\n".join(parts).lower()


def matches(item: ReviewItem, query: str) -> bool:
    """Every word of ``query`` is in the item's id, topic or text (either language; case ignored)."""
    words = query.lower().split()
    if not words:
        return True
    hay = f"{item.id}\n{item.topic}\n{_text_of(item.obj)}"
    return all(w in hay for w in words)


def browse(
    store: Store,
    content: Any,
    *,
    query: str = "",
    state: str = "all",
    topic: str | None = None,
    now: datetime | None = None,
    config: Config | None = None,
) -> list[CardRow]:
    """The items that match ``query`` and ``state`` (one of :data:`FILTERS`), in content order."""
    if state not in FILTERS:
        raise ValueError(f"unknown filter {state!r} (one of {', '.join(FILTERS)})")
    now = now or utcnow()
    scheduler = current_scheduler(store, config or load_config())
    rows = {r["item_id"]: r for r in store.state_rows()}
    totals = store.review_totals_by_item()
    out: list[CardRow] = []
    for it in review_items(content, topic):
        if not matches(it, query):
            continue
        r = rows.get(it.id)
        card = Card.from_json(r["card_json"]) if r else None
        new = card is None or card.last_review is None
        buried = from_iso(r["buried_until"]) if r and r["buried_until"] else None
        if buried is not None and buried <= now:
            buried = None
        row = CardRow(
            it,
            "new" if new or card is None else _STATE_NAMES[card.state],
            None if new or card is None else card.due,
            bool(r["suspended"]) if r else False,
            buried,
            *totals.get(it.id, (0, 0)),
            None if new or card is None else card.stability,
            None if new or card is None else retrievability(card, now, scheduler),
        )
        if state == "all" or row.state == state:
            out.append(row)
        elif state == "due" and row.is_due(now) and buried is None:
            out.append(row)
        elif state == "suspended" and row.suspended:
            out.append(row)
        elif state == "buried" and row.buried_until is not None and not row.suspended:
            out.append(row)
    return out


@dataclass(frozen=True)
class HistoryEntry:
    """One review of an item, oldest first: what was rated and what it scheduled."""

    at: datetime
    rating: int
    state_before: str  # new | learning | review | relearning
    state_after: str
    interval: timedelta  # from the review to the due date it set
    duration_ms: int | None


def history(store: Store, item_id: str) -> list[HistoryEntry]:
    out = []
    for r in store.review_log(item_id):
        before = Card.from_json(r.prev_card_json) if r.prev_card_json else None
        after = Card.from_json(r.card_json)
        at = from_iso(r.reviewed_at)
        out.append(
            HistoryEntry(
                at,
                r.rating,
                "new" if before is None or before.last_review is None else _STATE_NAMES[before.state],
                _STATE_NAMES[after.state],
                after.due - at,
                r.duration_ms,
            )
        )
    return out


def set_suspended(
    store: Store, content: Any, item_id: str, on: bool, *, now: datetime | None = None
) -> UndoRecord:
    """Suspend or unsuspend one item by id (KeyError for an id that is not in the content)."""
    items = {it.id: it for it in review_items(content)}
    if item_id not in items:
        raise KeyError(item_id)
    kind = items[item_id].kind
    if on:
        return suspend(store, item_id, kind, now=now)
    state = load_state(store, item_id)
    if state is None:
        return UndoRecord(item_id, "unsuspend", None)
    return unsuspend(store, item_id, kind, now=now)
