"""Spaced repetition with FSRS (py-fsrs): one module per concern.

- :mod:`~studytool.srs.fsrs_adapter` — the scheduler (fsrs plus studytool's two rules: seeded fuzz,
  Hard < Good < Easy), its settings, previews, study days;
- :mod:`~studytool.srs.items` — the reviewable items (cards and questions) and their titles;
- :mod:`~studytool.srs.states` — item states: rate and undo, suspend and bury, restore,
  rescheduling from the log after a settings change;
- :mod:`~studytool.srs.queue` — the review queue and Anki's three counts;
- :mod:`~studytool.srs.repair` — the schedule against its log (``doctor``), the optimizer's I/O;
- :mod:`~studytool.srs.browse` — the card browser: list, search, history.

Every card and every question is a reviewable item keyed by its content id; its fsrs ``card_id``
is derived from that id, never from a timestamp. The SQL lives in :mod:`studytool.store`.

The names below are imported from their module on first use (PEP 562): importing one submodule
(``studytool.srs.queue``) loads only what it needs, so the app's Today does not pay for the
browser or the repair tools.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ReviewItem": "items",
    "item_title": "items",
    "review_items": "items",
    "CardRow": "browse",
    "history": "browse",
    "set_suspended": "browse",
    "AlreadyReviewed": "states",
    "ChangedElsewhere": "states",
    "Counts": "queue",
    "FsrsScheduler": "fsrs_adapter",
    "HeldItem": "states",
    "ItemState": "states",
    "MIN_OPTIMIZER_REVIEWS": "fsrs_adapter",
    "Outcome": "fsrs_adapter",
    "QuestionAnswer": "states",
    "Queue": "queue",
    "QueueSnapshot": "queue",
    "RULES": "fsrs_adapter",
    "Restored": "states",
    "UndoRecord": "states",
    "applied_scheduler": "fsrs_adapter",
    "apply_rating": "states",
    "build_queue": "queue",
    "buried_items": "states",
    "bury": "states",
    "card_id_for": "fsrs_adapter",
    "count_key": "queue",
    "current_scheduler": "fsrs_adapter",
    "day_start": "fsrs_adapter",
    "doctor_check": "repair",
    "ensure_applied": "states",
    "fitted_parameters": "fsrs_adapter",
    "fsrs_review_logs": "repair",
    "held_items": "states",
    "load_state": "states",
    "load_states": "states",
    "make_scheduler": "fsrs_adapter",
    "new_card": "fsrs_adapter",
    "new_introduced_today": "queue",
    "next_due": "queue",
    "optimizer_review_count": "repair",
    "preview": "fsrs_adapter",
    "rate": "states",
    "rebuild_card": "states",
    "repair_schedule": "repair",
    "reschedule_all": "states",
    "restore_held": "states",
    "retrievability": "fsrs_adapter",
    "review_counts": "queue",
    "same_card": "states",
    "save_parameters": "repair",
    "study_day": "fsrs_adapter",
    "suspend": "states",
    "suspended_items": "states",
    "unbury": "states",
    "undo": "states",
    "unsuspend": "states",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """A public name, from its module, imported on first use."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'studytool.srs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"studytool.srs.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
