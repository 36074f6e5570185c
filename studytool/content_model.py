"""The study content's model: immutable dataclasses, built by the loader (:mod:`studytool.content`)
and read by every screen. No YAML here: a cached copy of the content unpickles from this module alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studytool.i18n.catalog import Msg, render, t

TOPICS = ("position-encoding", "architecture", "efficiency", "parallelism-future")
TOPIC_LABELS = {
    "position-encoding": ("Position encoding", "位置编码"),
    "architecture": ("Architecture design", "架构设计"),
    "efficiency": ("Efficiency", "效率与优化"),
    "parallelism-future": ("Parallelism & future", "并行性与未来"),
}
CARD_TYPES = ("basic", "cloze", "truefalse")
CHECKLIST_GROUPS = ("theory", "programming", "systems")
LANGS = ("en", "zh")
CONTENT_FILES = ("questions.yaml", "insights.yaml", "flashcards.yaml", "checklist.yaml")
CARD_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# The app's figures a checklist item may link to (``figures:``); studytool/tui/figures.py draws them
# under these names (tests/test_content_rules.py keeps the two in step).
FIGURE_KINDS = ("pe", "mask", "rope", "alibi")
CLOZE_RE = re.compile(r"\{\{(.+?)\}\}", re.S)


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True)
class Problem:
    """One problem found in a content file or a deck, at ``file:line``."""

    file: str
    line: int
    message: str  # English (``str()`` and the logs); ``render(lang)`` for the learner's language
    severity: str = "error"  # "error" | "warning"
    deck_skipped: bool = False  # a learner deck left out because of this (and its other) problems
    msg: Msg | None = field(default=None, compare=False)  # the catalogue message (content_load.*)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"

    def render(self, lang: str) -> str:
        """``file:line: message`` in ``lang``."""
        text = render(self.msg, lang) if self.msg is not None else self.message
        return f"{self.file}:{self.line}: {text}"


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Text:
    """A text in both languages."""

    en: str
    zh: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def to_json(self) -> dict[str, str]:
        return {"en": self.en, "zh": self.zh}


@dataclass(frozen=True)
class Misconception:
    """A question's misconception: the wrong claim and its correction."""

    claim: Text
    correction: Text


@dataclass(frozen=True)
class MisconceptionCheck:
    """A statement to judge: a question's misconception (always false) or a linked true/false card."""

    statement: Text
    true: bool
    explanation: Text
    card_id: str | None = None


@dataclass(frozen=True)
class Question:
    """One of the lecture's questions (Q13–Q24), with its model answer and key points."""

    id: str
    number: int
    topic: str
    title: Text
    question: Text
    answer: Text
    key_points: tuple[Text, ...]
    misconceptions: tuple[Misconception, ...] = ()
    insights: tuple[str, ...] = ()
    exercises: tuple[str, ...] = ()
    cards: tuple[str, ...] = ()  # back-links, computed from the cards


@dataclass(frozen=True)
class Insight:
    """One of the lecture's ten insights."""

    id: str
    number: int
    title: Text
    analogy: Text
    explanation: Text
    formula: str | None = None
    questions: tuple[str, ...] = ()
    cards: tuple[str, ...] = ()  # back-links, computed from the cards


@dataclass(frozen=True)
class Card:
    """A flashcard: basic (front/back), cloze, or true/false."""

    id: str
    type: str
    topic: str
    deck: str
    front: Text | None = None
    back: Text | None = None
    text: Text | None = None  # cloze
    extra: Text | None = None
    statement: Text | None = None  # truefalse
    answer: bool | None = None
    explanation: Text | None = None
    questions: tuple[str, ...] = ()
    insights: tuple[str, ...] = ()

    def prompt(self, lang: str) -> str:
        """What the learner sees before the reveal."""
        if self.type == "basic":
            assert self.front is not None
            return self.front.get(lang)
        if self.type == "cloze":
            assert self.text is not None
            return CLOZE_RE.sub("[…]", self.text.get(lang))
        assert self.statement is not None
        return self.statement.get(lang)

    def reveal(self, lang: str) -> str:
        """What the reveal shows."""
        if self.type == "basic":
            assert self.back is not None
            return self.back.get(lang)
        if self.type == "cloze":
            assert self.text is not None
            body = CLOZE_RE.sub(lambda m: f"[{m.group(1)}]", self.text.get(lang))
            return body + (f"\n\n{self.extra.get(lang)}" if self.extra else "")
        assert self.explanation is not None
        key = "review.truefalse.reveal_true" if self.answer else "review.truefalse.reveal_false"
        return t(key, lang, explanation=self.explanation.get(lang))

    def cloze_answers(self, lang: str) -> list[str]:
        return CLOZE_RE.findall(self.text.get(lang)) if self.text else []


@dataclass(frozen=True)
class ChecklistItem:
    """One item of the practice checklist and the evidence it links."""

    id: str
    group: str
    text: Text
    questions: tuple[str, ...] = ()
    exercises: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()  # kinds from FIGURE_KINDS: the app's figure that shows this item


@dataclass(frozen=True)
class ExerciseMeta:
    """An exercise's metadata (exercise.yaml), the folder of its files."""

    id: str
    order: int
    title: Text
    topic: str
    directory: Path
    questions: tuple[str, ...] = ()
    checklist: tuple[str, ...] = ()
    entry: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    hints: tuple[Text, ...] = ()  # general, gentle → explicit
    # hints for one failing test, keyed by the exact test name in grader/checks/<id>.py TESTS
    test_hints: tuple[tuple[str, tuple[Text, ...]], ...] = ()

    def hints_for(self, test_name: str) -> tuple[Text, ...]:
        return next((h for name, h in self.test_hints if name == test_name), ())

    @property
    def starter_path(self) -> Path:
        return self.directory / "starter.py"

    def prompt(self, lang: str = "en") -> str:
        zh = self.directory / "prompt.zh.md"
        path = zh if lang == "zh" and zh.exists() else self.directory / "prompt.md"
        return path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Deck:
    """A deck of flashcards: the built-in one or a learner's."""

    id: str
    title: Text
    source: str
    builtin: bool


@dataclass
class Content:
    """Everything the learner studies, with an index by id."""

    questions: list[Question] = field(default_factory=list)
    insights: list[Insight] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    checklist: list[ChecklistItem] = field(default_factory=list)
    exercises: list[ExerciseMeta] = field(default_factory=list)
    decks: list[Deck] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index: dict[str, Any] = {}
        for group in (self.questions, self.insights, self.cards, self.checklist, self.exercises):
            for item in group:
                self._index[item.id] = item

    def item(self, item_id: str) -> Any:
        return self._index.get(item_id)

    def question(self, item_id: str) -> Question:
        q = self._index[item_id]
        assert isinstance(q, Question)
        return q

    def exercise(self, item_id: str) -> ExerciseMeta | None:
        ex = self._index.get(item_id)
        return ex if isinstance(ex, ExerciseMeta) else None

    def misconception_checks(self, question: Question) -> list[MisconceptionCheck]:
        """The question's misconceptions, then the true/false cards linked to it."""
        checks = [MisconceptionCheck(m.claim, False, m.correction) for m in question.misconceptions]
        for cid in question.cards:
            card = self._index.get(cid)
            if isinstance(card, Card) and card.type == "truefalse":
                assert card.statement is not None and card.explanation is not None
                checks.append(
                    MisconceptionCheck(card.statement, bool(card.answer), card.explanation, card.id)
                )
        return checks

    def reviewables(self) -> list[Question | Card]:
        """Everything studied with spaced repetition: the questions and every card."""
        return [*self.questions, *self.cards]

    def to_json(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "questions": [_jsonable(q) for q in self.questions],
            "insights": [_jsonable(i) for i in self.insights],
            "flashcards": [_jsonable(c) for c in self.cards],
            "checklist": [_jsonable(c) for c in self.checklist],
        }


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Text):
        return obj.to_json()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (list, tuple)):
        return [_jsonable(x) for x in obj]
    if hasattr(obj, "__dataclass_fields__"):
        return {
            k: _jsonable(getattr(obj, k)) for k in obj.__dataclass_fields__ if getattr(obj, k) is not None
        }
    return obj
