"""`studytool stats`: one dictionary with the learner's progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from studytool.checklist import checklist_status
from studytool.content import Content
from studytool.store import Store


def compute_stats(
    store: Store, content: Content, *, now: datetime | None = None, config: Any = None
) -> dict[str, Any]:
    """Everything ``stats --json`` prints; ``now`` and ``config`` default to the clock and the
    learner's settings file."""
    from studytool import scheduler

    out: dict[str, Any] = dict(scheduler.review_stats(store, content, now=now, config=config))
    summary = store.exercise_summary()
    out["exercises"] = {
        ex.id: {
            "attempts": summary[ex.id].attempts if ex.id in summary else 0,
            "passed": bool(summary[ex.id].passed) if ex.id in summary else False,
        }
        for ex in content.exercises
    }
    status = checklist_status(store, content)
    out["checklist"] = {"done": sum(s.done for s in status), "total": len(status)}
    return out
