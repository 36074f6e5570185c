"""Today: the day at a glance — counts, progress by topic, and the next things to do.

Shared by ``studytool today`` and the app's Today section; plain dataclasses out, no wording
(the CLI and the app phrase them in the learner's language).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from studytool.checklist import checklist_status
from studytool.config import Config, load_config
from studytool.content import TOPICS, ChecklistItem, Content, ExerciseMeta
from studytool.srs.items import review_items
from studytool.srs.queue import Counts
from studytool.stats import ReviewStats, review_stats
from studytool.store import Store, utcnow


@dataclass(frozen=True)
class TopicProgress:
    """How far the learner is in one topic."""

    topic: str
    studied: int  # items reviewed at least once
    total: int
    retention_30d: float | None


@dataclass(frozen=True)
class NextStep:
    """One suggestion. ``kind`` is "review", "exercise", "checklist" or "done"."""

    kind: str
    item_id: str | None = None
    due: int = 0  # review
    new: int = 0  # review
    exercise: ExerciseMeta | None = None
    best: dict[str, int] | None = None  # exercise: best attempt so far, None when not started
    checklist_item: ChecklistItem | None = None


@dataclass(frozen=True)
class Today:
    """The day at a glance (what ``studytool today`` and the Today section show)."""

    stats: ReviewStats  # studytool.stats.review_stats
    new_today: int  # what a review session started now would offer (counts.new)
    topics: list[TopicProgress]
    exercises_passed: int
    exercises_total: int
    checklist_done: int
    checklist_total: int
    next_steps: list[NextStep]
    counts: Counts = Counts(0, 0, 0)  # new / learning / review, as Review

    @property
    def due_now(self) -> int:
        """Learning + review due now: the same number Review queues (``stats["cards"]["due"]``)."""
        return self.counts.due_now


def today(
    store: Store, content: Content, *, now: datetime | None = None, config: Config | None = None
) -> Today:
    now = now or utcnow()
    config = config or load_config()
    stats = review_stats(store, content, now=now, config=config)
    counts = Counts(**stats["queue"])  # review_counts: what Review would queue now
    new_today = counts.new

    rows = store.queue_rows()
    items = review_items(content)
    topics = []
    for topic in TOPICS:
        mine = [it for it in items if it.topic == topic]
        studied = sum(1 for it in mine if it.id in rows and not rows[it.id].is_new)
        topics.append(
            TopicProgress(
                topic,
                studied,
                len(mine),
                stats["topics"][topic]["retention_30d"] if topic in stats["topics"] else None,
            )
        )

    summary = store.exercise_summary()
    status = checklist_status(store, content)
    steps: list[NextStep] = []
    due = counts.due_now
    if due or new_today:
        steps.append(NextStep("review", due=due, new=new_today))
    exercises = sorted(content.exercises, key=lambda e: e.order)
    failing = [e for e in exercises if e.id in summary and not summary[e.id].passed]
    fresh = [e for e in exercises if e.id not in summary]
    if failing:
        e = failing[0]
        steps.append(
            NextStep("exercise", e.id, exercise=e, best=summary[e.id].best or {"passed": 0, "total": 0})
        )
    elif fresh:
        steps.append(NextStep("exercise", fresh[0].id, exercise=fresh[0]))
    open_items = [s.item for s in status if not s.done]
    if open_items:
        steps.append(NextStep("checklist", open_items[0].id, checklist_item=open_items[0]))
    if not steps:
        steps.append(NextStep("done"))

    return Today(
        stats,
        new_today,
        topics,
        sum(1 for s in summary.values() if s.passed),
        len(content.exercises),
        sum(1 for s in status if s.done),
        len(status),
        steps,
        counts,
    )
