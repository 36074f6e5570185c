"""The practice checklist: the learner's ticks, and evidence from the store.

An item is *done* when the learner ticked it, or — unless they explicitly unticked it — when its
evidence is complete, and evidence means what the item says:

- every linked exercise passed;
- every linked figure seen in the app ("draw", "visualise": passing the exercise is not seeing
  the picture; the app records it with :func:`record_figure_seen` when the figure is on screen);
- every linked question recalled at least once with Good or Easy ("explain", "derive": passing an
  exercise is not explaining it) — or a completed lab experiment that serves the item (a default
  run, not --quick), which stands for its questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from studytool.content import FIGURE_KINDS, ChecklistItem, Content
from studytool.i18n import Msg, render
from studytool.store import Store

GOOD = 3  # fsrs Rating.Good


@dataclass(frozen=True)
class Evidence:
    """One fact behind a checklist item: an exercise passed, a question recalled, a lab run
    completed. A fact, not a sentence: the interface renders it (``render(lang)``)."""

    kind: Literal["exercise", "question", "lab", "figure"]
    id: str  # exercise id, question id, experiment id or figure kind
    run: int | None = None  # the lab run's number

    def msg(self) -> Msg:
        if self.kind == "question":
            return Msg("checklist.evidence_question", id=self.id.upper())
        if self.kind == "lab":
            return Msg("checklist.evidence_lab", id=self.id, run=self.run)
        if self.kind == "figure":
            return Msg("checklist.evidence_figure", figure=Msg(f"checklist.figure.{self.id}"))
        return Msg("checklist.evidence_exercise", id=self.id)

    def render(self, lang: str) -> str:
        return render(self.msg(), lang)

    def __str__(self) -> str:  # English, for logs
        return self.render("en")

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "id": self.id, "run": self.run}


@dataclass(frozen=True)
class ChecklistStatus:
    """One checklist item: done or not, why, and the evidence found and still missing."""

    item: ChecklistItem
    done: bool
    source: str  # "ticked" | "unticked" | "evidence" | ""
    evidence: tuple[Evidence, ...]  # facts, e.g. Evidence("exercise", "causal_mask")
    missing: tuple[Evidence, ...]


def _recalled_questions(store: Store) -> set[str]:
    return store.recalled_questions(GOOD)


def record_figure_seen(store: Store, kind: str) -> None:
    """The app showed figure ``kind`` (``content.FIGURE_KINDS``): evidence for the checklist items
    that link it."""
    if kind not in FIGURE_KINDS:
        raise ValueError(f"unknown figure {kind!r} (known: {', '.join(FIGURE_KINDS)})")
    store.record_figure_seen(kind)


def _lab_evidence(store: Store) -> dict[str, list[Evidence]]:
    """checklist item -> the completed lab run of each experiment serving it."""
    from studytool import lab

    out: dict[str, list[Evidence]] = {}
    for exp_id, run in lab.completed_experiments(store).items():
        exp = lab.EXPERIMENTS.get(exp_id)
        for item_id in exp.checklist if exp else ():
            out.setdefault(item_id, []).append(Evidence("lab", exp_id, run.id))
    return out


def checklist_status(store: Store, content: Content) -> list[ChecklistStatus]:
    ticks = store.ticks()
    passed = {eid for eid, s in store.exercise_summary().items() if s.passed}
    recalled = _recalled_questions(store)
    seen = store.figures_seen()
    # the lab module (and what it imports) only when there is a run to read: Today stays light
    lab_done = _lab_evidence(store) if store.has_completed_lab_runs() else {}
    out = []
    for item in content.checklist:
        evidence: list[Evidence] = []
        missing: list[Evidence] = []
        for eid in item.exercises:
            (evidence if eid in passed else missing).append(Evidence("exercise", eid))
        for kind in item.figures:
            (evidence if kind in seen else missing).append(Evidence("figure", kind))
        lab_ev = lab_done.get(item.id, [])
        if lab_ev:  # a completed experiment stands for the questions it serves
            evidence.extend(lab_ev)
        else:
            for qid in item.questions:
                (evidence if qid in recalled else missing).append(Evidence("question", qid))
        complete = bool(evidence) and not missing
        tick = ticks.get(item.id)
        if tick is not None:
            done, source = tick.done, "ticked" if tick.done else "unticked"
        else:
            done, source = complete, "evidence" if complete else ""
        out.append(ChecklistStatus(item, done, source, tuple(evidence), tuple(missing)))
    return out


def set_done(store: Store, content: Content, item_id: str, done: bool) -> ChecklistItem:
    item = content.item(item_id)
    if not isinstance(item, ChecklistItem):
        known = ", ".join(i.id for i in content.checklist)
        raise KeyError(f"unknown checklist item '{item_id}' (known: {known})")
    store.set_tick(item_id, done)
    return item
