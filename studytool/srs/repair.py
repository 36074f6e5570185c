"""The schedule against its log: ``doctor``'s check and ``doctor --fix``, and ``optimize``'s I/O.

The review log is the truth: every item's state can be rebuilt from it with fsrs'
``reschedule_card`` (the fuzz is seeded and studytool's interval rule lives in the scheduler's
``review_card``, so a rebuild gives back the stored state bit for bit, due date included).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fsrs import Card, Rating, ReviewLog

from studytool.config import Config, load_config
from studytool.srs.fsrs_adapter import (
    applied_scheduler,
    card_id_for,
    current_scheduler,
    make_scheduler,
    new_card,
)
from studytool.srs.states import rebuild_card, reschedule_all, state_row
from studytool.store import Store, from_iso, utcnow


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
    logs = store.logs_by_item()
    states = {r["item_id"]: r for r in store.state_rows()}
    for item_id, rows in logs.items():
        row = states.get(item_id)
        if row is None:
            problems.append(f"{item_id}: {len(rows)} review(s) in the log but no schedule state")
            continue
        rebuilt = rebuild_card(scheduler, item_id, [(r.rating, r.reviewed_at) for r in rows]).to_dict()
        try:
            stored = json.loads(row["card_json"])
        except ValueError:
            problems.append(f"{item_id}: stored schedule state is not valid JSON")
            continue
        diff = _card_diff(stored, dict(rebuilt))
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
        if (
            row["state"] != card.get("state")
            or (card.get("due") and from_iso(row["due"]) != from_iso(card["due"]))
            or row.get("last_review") != card.get("last_review")
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
        logs = store.logs_by_item()
        for row in store.state_rows():
            item_id = row["item_id"]
            card: Card | None
            try:
                card = Card.from_json(row["card_json"])
                ok = card.card_id == card_id_for(item_id) and (item_id in logs or card.last_review is None)
            except (ValueError, KeyError, TypeError):
                card, ok = None, False
            if not ok or card is None:
                if item_id in logs:
                    card = rebuild_card(
                        scheduler, item_id, [(r.rating, r.reviewed_at) for r in logs[item_id]]
                    )
                else:
                    card = new_card(item_id, now)
            elif (
                row["state"] == int(card.state)
                and from_iso(row["due"]) == card.due
                and row.get("last_review") == (card.last_review.isoformat() if card.last_review else None)
            ):
                continue
            store.write_state(
                state_row(
                    item_id,
                    row["kind"],
                    card,
                    now,
                    suspended=bool(row["suspended"]),
                    buried_until=row["buried_until"],
                )
            )
            changed += 1
    return changed


# --------------------------------------------------------------------------- optimizer support


def optimizer_review_count(store: Store) -> int:
    """How many reviews fsrs' Optimizer will count: reviews on a later day than the item's previous
    review, among the first 64 reviews of each item (its own rule)."""
    n = 0
    for rows in store.logs_by_item().values():
        times = [from_iso(r.reviewed_at) for r in rows[:64]]
        n += sum(1 for a, b in zip(times, times[1:]) if (b - a).days > 0)
    return n


def fsrs_review_logs(store: Store) -> list[ReviewLog]:
    return [
        ReviewLog(
            card_id=card_id_for(item_id),
            rating=Rating(rating),
            review_datetime=from_iso(at),
            review_duration=duration,
        )
        for item_id, rating, at, duration in store.reviews_in_log_order()
    ]


def save_parameters(
    store: Store, parameters: Sequence[float], *, config: Config | None = None, now: datetime | None = None
) -> int:
    """Keep fitted parameters and reschedule every item with them. Returns items changed."""
    config = config or load_config()
    scheduler = make_scheduler(config, parameters)  # validates the bounds
    with store.tx():
        store.meta_set("parameters", list(scheduler.parameters))
        return reschedule_all(store, scheduler, now=now)
