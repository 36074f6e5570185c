"""Study content: YAML → validated, immutable dataclasses.

Loading never raises on bad content: every problem becomes a :class:`Problem` that renders as
``file:line: message``. Built-in content problems are errors; a learner deck with problems is
skipped whole and its problems come back as warnings, so a bad deck never stops the app.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from studytool import locations
from studytool.i18n.catalog import t

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
    file: str
    line: int
    message: str
    severity: str = "error"  # "error" | "warning"
    deck_skipped: bool = False  # a learner deck left out because of this (and its other) problems

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Text:
    en: str
    zh: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def to_json(self) -> dict[str, str]:
        return {"en": self.en, "zh": self.zh}


@dataclass(frozen=True)
class Misconception:
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
    id: str
    group: str
    text: Text
    questions: tuple[str, ...] = ()
    exercises: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()  # kinds from FIGURE_KINDS: the app's figure that shows this item


@dataclass(frozen=True)
class ExerciseMeta:
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
    id: str
    title: Text
    source: str
    builtin: bool


@dataclass
class Content:
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


# --------------------------------------------------------------------------- YAML with lines


class LMap(dict):
    """A YAML mapping that remembers the line of itself and of each key (1-based)."""

    line: int
    key_lines: dict[str, int]


class LList(list):
    line: int
    item_lines: list[int]


_scalar_constructor = SafeConstructor()
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


MAX_YAML_VALUES = 200_000  # aliases may not expand a file beyond this many values


class _TooLarge(Exception):
    pass


def _convert(node: yaml.Node, ctx: _Ctx) -> Any:
    ctx.values += 1
    if ctx.values > MAX_YAML_VALUES:
        raise _TooLarge
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if id(node) in ctx.open_nodes:  # an alias inside the collection it names
            ctx.add(node.start_mark.line + 1, "a YAML alias refers to a collection that contains it")
            return None
        ctx.open_nodes.add(id(node))
        try:
            return _convert_collection(node, ctx)
        finally:
            ctx.open_nodes.discard(id(node))
    try:
        return _scalar_constructor.construct_object(node, deep=True)
    except ConstructorError as exc:
        ctx.add(node.start_mark.line + 1, f"invalid value: {exc.problem}")
        return None


def _convert_collection(node: yaml.Node, ctx: _Ctx) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = LMap()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, ctx)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                ctx.add(line, f"keys must be strings, got {key!r}")
                continue
            if key in out:
                ctx.add(line, f"duplicate key '{key}' (first at line {out.key_lines[key]})")
                continue
            out[key] = _convert(value_node, ctx)
            out.key_lines[key] = value_node.start_mark.line + 1
        return out
    seq = LList(_convert(n, ctx) for n in node.value)
    seq.line = node.start_mark.line + 1
    seq.item_lines = [n.start_mark.line + 1 for n in node.value]
    return seq


@dataclass
class _Ctx:
    file: str
    problems: list[Problem]
    severity: str = "error"
    values: int = 0  # values converted so far (aliases count each time they are expanded)
    open_nodes: set[int] = field(default_factory=set)  # collections being converted (cycles)

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message, self.severity))


def _parse(path: Path, ctx: _Ctx) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        ctx.add(1, f"not UTF-8 text: {exc.reason}")
        return None
    except OSError as exc:
        ctx.add(1, f"cannot read: {exc.strerror}")
        return None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        ctx.add(line, f"YAML syntax error: {exc.problem or exc.context}")
        return None
    except yaml.YAMLError as exc:
        ctx.add(1, f"YAML error: {exc}")
        return None
    except RecursionError:
        ctx.add(1, "nested too deeply")
        return None
    if node is None:
        ctx.add(1, "file is empty")
        return None
    try:
        return _convert(node, ctx)
    except _TooLarge:
        ctx.add(1, f"too large: its aliases expand to more than {MAX_YAML_VALUES} values")
    except RecursionError:
        ctx.add(1, "nested too deeply")
    return None


# --------------------------------------------------------------------------- field readers


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list", dict: "a mapping"}


class _Fields:
    """Reads the fields of one YAML mapping, recording problems with their lines."""

    def __init__(self, m: LMap, ctx: _Ctx, what: str, allowed: Iterable[str]) -> None:
        self.m, self.ctx, self.what = m, ctx, what
        self.ok = True
        for key in m:
            if key not in allowed:
                self.problem(key, f"{what}: unknown field '{key}'")

    def line(self, key: str | None = None) -> int:
        if key is not None and key in self.m.key_lines:
            return self.m.key_lines[key]
        return self.m.line

    def problem(self, key: str | None, message: str) -> None:
        self.ok = False
        self.ctx.add(self.line(key), message)

    def _get(self, key: str, kind: type, required: bool) -> Any:
        if key not in self.m or self.m[key] is None:
            if required:
                self.problem(None, f"{self.what}: missing field '{key}'")
            return None
        value = self.m[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            self.problem(
                key,
                f"{self.what}: field '{key}' must be {_TYPE_NAMES[kind]}, "
                f"got {type(value).__name__} {value!r:.40}",
            )
            return None
        return value

    def get_str(self, key: str, required: bool = True) -> str | None:
        value = self._get(key, str, required)
        if value is not None and not value.strip():
            self.problem(key, f"{self.what}: field '{key}' is empty")
            return None
        return value

    def get_int(self, key: str, required: bool = True) -> int | None:
        return self._get(key, int, required)

    def get_bool(self, key: str, required: bool = True) -> bool | None:
        return self._get(key, bool, required)

    def choice(self, key: str, choices: tuple[str, ...]) -> str | None:
        value = self.get_str(key)
        if value is not None and value not in choices:
            self.problem(key, f"{self.what}: {key} '{value}' is not one of {', '.join(choices)}")
            return None
        return value

    def text(self, key: str, required: bool = True) -> Text | None:
        value = self._get(key, dict, required)
        if value is None:
            return None
        return self._text_value(value, f"'{key}'", self.line(key))

    def _text_value(self, value: Any, label: str, line: int) -> Text | None:
        if not isinstance(value, dict):
            self.ok = False
            self.ctx.add(line, f"{self.what}: {label} must be a mapping with 'en' and 'zh'")
            return None
        good = True
        for lang in LANGS:
            v = value.get(lang)
            vline = value.key_lines.get(lang, value.line) if isinstance(value, LMap) else line
            if v is None:
                self.ok = good = False
                self.ctx.add(vline, f"{self.what}: {label} is missing the '{lang}' text")
            elif not isinstance(v, str) or not v.strip():
                self.ok = good = False
                self.ctx.add(vline, f"{self.what}: {label}.{lang} must be non-empty text")
        for extra in value:
            if extra not in LANGS:
                self.ok = good = False
                self.ctx.add(
                    value.key_lines.get(extra, line) if isinstance(value, LMap) else line,
                    f"{self.what}: {label} has unknown language '{extra}' (use en, zh)",
                )
        return Text(value["en"].strip(), value["zh"].strip()) if good else None

    def texts(self, key: str, required: bool = True) -> tuple[Text, ...]:
        value = self._get(key, list, required)
        if value is None:
            return ()
        out = []
        for i, item in enumerate(value):
            t = self._text_value(item, f"'{key}'[{i + 1}]", value.item_lines[i])
            if t is not None:
                out.append(t)
        return tuple(out)

    def ids(self, key: str) -> tuple[str, ...]:
        value = self._get(key, list, False)
        if value is None:
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.ok = False
                self.ctx.add(
                    value.item_lines[i], f"{self.what}: '{key}' entries must be ids (strings), got {item!r}"
                )
            else:
                out.append(item)
        return tuple(out)

    def links(self, key: str, links: list[_Link]) -> tuple[str, ...]:
        ids = self.ids(key)
        value = self.m.get(key)
        for i, target in enumerate(ids):
            line = value.item_lines[i] if isinstance(value, LList) else self.line(key)
            links.append(_Link(self.ctx, line, self.what, key, target))
        return ids


@dataclass
class _Link:
    ctx: _Ctx
    line: int
    what: str
    field: str
    target: str


_LINK_KINDS = {
    "questions": Question,
    "insights": Insight,
    "exercises": ExerciseMeta,
    "checklist": ChecklistItem,
}


def _items(data: Any, key: str, ctx: _Ctx) -> list[LMap]:
    if data is None:
        return []
    if not isinstance(data, LMap):
        ctx.add(getattr(data, "line", 1), f"expected a mapping with a '{key}' list at the top")
        return []
    if key not in data:
        ctx.add(data.line, f"missing top-level '{key}' list")
        return []
    items = data[key]
    if not isinstance(items, LList):
        ctx.add(data.key_lines[key], f"'{key}' must be a list")
        return []
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, LMap):
            ctx.add(items.item_lines[i], f"{key}[{i + 1}] must be a mapping")
        else:
            out.append(item)
    return out


_T = TypeVar("_T")


def _req(value: _T | None) -> _T:
    """A field the reader found valid (``f.ok``): present."""
    assert value is not None
    return value


class _Ids:
    """Unique ids across every kind of item (they share the progress store's key space)."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def claim(self, f: _Fields, item_id: str | None) -> bool:
        if item_id is None:
            return False
        where = f"{f.ctx.file}:{f.line('id')}"
        if item_id in self.seen:
            f.problem("id", f"duplicate id '{item_id}' (first defined at {self.seen[item_id]})")
            return False
        self.seen[item_id] = where
        return True


def _read_questions(data: Any, ctx: _Ctx, ids: _Ids, links: list[_Link]) -> list[Question]:
    out = []
    numbers: dict[int, str] = {}
    for m in _items(data, "questions", ctx):
        f = _Fields(
            m,
            ctx,
            f"question {m.get('id', '?')}",
            (
                "id",
                "number",
                "topic",
                "title",
                "question",
                "answer",
                "key_points",
                "misconceptions",
                "insights",
                "exercises",
            ),
        )
        qid, number, topic = f.get_str("id"), f.get_int("number"), f.choice("topic", TOPICS)
        title, question, answer = f.text("title"), f.text("question"), f.text("answer")
        key_points = f.texts("key_points")
        if "key_points" in m and isinstance(m["key_points"], list) and not 3 <= len(m["key_points"]) <= 6:
            f.problem("key_points", f"{f.what}: needs 3–6 key points, has {len(m['key_points'])}")
        if number is not None:
            if number in numbers:
                f.problem("number", f"{f.what}: number {number} already used by {numbers[number]}")
            numbers[number] = qid or "?"
        miscs = []
        raw = m.get("misconceptions")
        if raw is not None:
            if not isinstance(raw, LList):
                f.problem("misconceptions", f"{f.what}: 'misconceptions' must be a list")
            else:
                for i, mm in enumerate(raw):
                    if not isinstance(mm, LMap):
                        f.ok = False
                        ctx.add(raw.item_lines[i], f"{f.what}: misconceptions[{i + 1}] must be a mapping")
                        continue
                    mf = _Fields(mm, ctx, f"{f.what} misconception {i + 1}", ("claim", "correction"))
                    claim, corr = mf.text("claim"), mf.text("correction")
                    f.ok &= mf.ok
                    if claim and corr:
                        miscs.append(Misconception(claim, corr))
        ins, exs = f.links("insights", links), f.links("exercises", links)
        claimed = ids.claim(f, qid)
        if f.ok and claimed:
            out.append(
                Question(
                    _req(qid),
                    _req(number),
                    _req(topic),
                    _req(title),
                    _req(question),
                    _req(answer),
                    key_points,
                    tuple(miscs),
                    ins,
                    exs,
                )
            )
    return out


def _read_insights(data: Any, ctx: _Ctx, ids: _Ids, links: list[_Link]) -> list[Insight]:
    out = []
    for m in _items(data, "insights", ctx):
        f = _Fields(
            m,
            ctx,
            f"insight {m.get('id', '?')}",
            ("id", "number", "title", "analogy", "explanation", "formula", "questions"),
        )
        iid, number = f.get_str("id"), f.get_int("number")
        title, analogy, expl = f.text("title"), f.text("analogy"), f.text("explanation")
        formula = f.get_str("formula", required=False)
        qs = f.links("questions", links)
        claimed = ids.claim(f, iid)
        if f.ok and claimed:
            out.append(Insight(_req(iid), _req(number), _req(title), _req(analogy), _req(expl), formula, qs))
    return out


def _read_checklist(data: Any, ctx: _Ctx, ids: _Ids, links: list[_Link]) -> list[ChecklistItem]:
    out = []
    for m in _items(data, "checklist", ctx):
        f = _Fields(
            m,
            ctx,
            f"checklist item {m.get('id', '?')}",
            ("id", "group", "text", "questions", "exercises", "figures"),
        )
        cid, group, text = f.get_str("id"), f.choice("group", CHECKLIST_GROUPS), f.text("text")
        qs, exs = f.links("questions", links), f.links("exercises", links)
        figures = f.ids("figures")
        raw_figs = m.get("figures")
        for i, kind in enumerate(figures):
            if kind not in FIGURE_KINDS:
                line = raw_figs.item_lines[i] if isinstance(raw_figs, LList) else f.line("figures")
                f.ok = False
                ctx.add(
                    line,
                    f"{f.what}: figure '{kind}' is not one of the app's figures ({', '.join(FIGURE_KINDS)})",
                )
        if not qs and not exs and "questions" not in m and "exercises" not in m:
            f.problem(None, f"{f.what}: link at least one of 'questions' or 'exercises' as evidence")
        claimed = ids.claim(f, cid)
        if f.ok and claimed:
            out.append(ChecklistItem(_req(cid), _req(group), _req(text), qs, exs, figures))
    return out


_CARD_FIELDS = {
    "basic": ("front", "back"),
    "cloze": ("text", "extra"),
    "truefalse": ("statement", "answer", "explanation"),
}


def _read_deck(
    data: Any, ctx: _Ctx, ids: _Ids, links: list[_Link], builtin: bool
) -> tuple[Deck | None, list[Card]]:
    deck = None
    if isinstance(data, LMap):
        if "deck" not in data:
            ctx.add(data.line, "missing top-level 'deck' mapping (id and title)")
        elif not isinstance(data["deck"], LMap):
            ctx.add(data.key_lines["deck"], "'deck' must be a mapping with 'id' and 'title'")
        else:
            df = _Fields(data["deck"], ctx, "deck", ("id", "title"))
            did, dtitle = df.get_str("id"), df.text("title")
            if did and dtitle:
                deck = Deck(did, dtitle, ctx.file, builtin)
        for key in data:
            if key not in ("deck", "cards"):
                ctx.add(data.key_lines[key], f"unknown top-level key '{key}' (expected deck, cards)")
    cards = []
    for m in _items(data, "cards", ctx):
        f = _Fields(
            m,
            ctx,
            f"card {m.get('id', '?')}",
            (
                "id",
                "type",
                "topic",
                "front",
                "back",
                "text",
                "extra",
                "statement",
                "answer",
                "explanation",
                "questions",
                "insights",
            ),
        )
        cid, ctype, topic = f.get_str("id"), f.choice("type", CARD_TYPES), f.choice("topic", TOPICS)
        if cid is not None and not CARD_ID_RE.match(cid):
            f.problem("id", f"{f.what}: id must be a lowercase slug like 'pe-permutation-invariance'")
        kw: dict[str, Any] = {}
        if ctype is not None:
            for other, names in _CARD_FIELDS.items():
                if other != ctype:
                    for name in names:
                        if name in m and name not in _CARD_FIELDS[ctype]:
                            f.problem(name, f"{f.what}: field '{name}' does not belong to a {ctype} card")
            if ctype == "basic":
                kw = {"front": f.text("front"), "back": f.text("back")}
            elif ctype == "cloze":
                kw = {"text": f.text("text"), "extra": f.text("extra", required=False)}
                t = kw["text"]
                if t is not None:
                    n_en, n_zh = len(CLOZE_RE.findall(t.en)), len(CLOZE_RE.findall(t.zh))
                    if n_en == 0:
                        f.problem("text", f"{f.what}: a cloze text needs at least one {{{{…}}}} deletion")
                    elif n_en != n_zh:
                        f.problem(
                            "text", f"{f.what}: cloze deletions differ between en ({n_en}) and zh ({n_zh})"
                        )
            else:
                kw = {
                    "statement": f.text("statement"),
                    "answer": f.get_bool("answer"),
                    "explanation": f.text("explanation"),
                }
        qs, ins = f.links("questions", links), f.links("insights", links)
        claimed = ids.claim(f, cid)
        if f.ok and ctype is not None and claimed:
            cards.append(
                Card(
                    _req(cid), ctype, _req(topic), deck.id if deck else "?", questions=qs, insights=ins, **kw
                )
            )
    return deck, cards


def _read_exercises(root: Path, ids: _Ids, links: list[_Link], problems: list[Problem]) -> list[ExerciseMeta]:
    out: list[ExerciseMeta] = []
    if not root.is_dir():
        problems.append(Problem(str(root), 1, "exercises directory not found"))
        return out
    for meta_path in sorted(root.glob("*/exercise.yaml")):
        ctx = _Ctx(str(meta_path), problems)
        data = _parse(meta_path, ctx)
        if data is None:
            continue
        if not isinstance(data, LMap):
            ctx.add(getattr(data, "line", 1), "exercise.yaml must be a mapping")
            continue
        f = _Fields(
            data,
            ctx,
            f"exercise {data.get('id', '?')}",
            (
                "id",
                "order",
                "title",
                "topic",
                "questions",
                "checklist",
                "entry",
                "forbidden",
                "hints",
                "test_hints",
            ),
        )
        eid, order, title = f.get_str("id"), f.get_int("order"), f.text("title")
        topic = f.choice("topic", TOPICS)
        if eid is not None and eid != meta_path.parent.name:
            f.problem("id", f"{f.what}: id '{eid}' must match its folder name '{meta_path.parent.name}'")
        qs, cl = f.links("questions", links), f.links("checklist", links)
        entry, forbidden = f.ids("entry"), f.ids("forbidden")
        if not entry:
            f.problem("entry", f"{f.what}: 'entry' must name the functions or classes to write")
        hints = f.texts("hints")
        test_hints = _read_test_hints(f, data.get("test_hints"))
        for required in ("prompt.md", "starter.py"):
            if not (meta_path.parent / required).is_file():
                f.problem(None, f"{f.what}: missing {required} beside exercise.yaml")
        claimed = ids.claim(f, eid)
        if f.ok and claimed:
            out.append(
                ExerciseMeta(
                    _req(eid),
                    _req(order),
                    _req(title),
                    _req(topic),
                    meta_path.parent,
                    qs,
                    cl,
                    entry,
                    forbidden,
                    hints,
                    test_hints,
                )
            )
    out.sort(key=lambda e: (e.order, e.id))
    return out


def _read_test_hints(f: _Fields, raw: Any) -> tuple[tuple[str, tuple[Text, ...]], ...]:
    """``test_hints: {"<exact test name>": [{en, zh}, ...]}``. The names are checked against the
    grader's TESTS by tests/test_content_rules.py (the grader's checks import torch; the core must not)."""
    if raw is None:
        return ()
    if not isinstance(raw, LMap):
        f.problem(
            "test_hints", f"{f.what}: 'test_hints' must be a mapping from a test name to a list of hints"
        )
        return ()
    out = []
    for name, value in raw.items():
        line = raw.key_lines.get(name, raw.line)
        if not name.strip():
            f.ok = False
            f.ctx.add(line, f"{f.what}: test_hints has an empty test name")
            continue
        if not isinstance(value, LList) or not value:
            f.ok = False
            f.ctx.add(line, f"{f.what}: test_hints['{name}'] must be a non-empty list of {{en, zh}} hints")
            continue
        texts = []
        for i, item in enumerate(value):
            t = f._text_value(item, f"test_hints['{name}'][{i + 1}]", value.item_lines[i])
            if t is not None:
                texts.append(t)
        out.append((name, tuple(texts)))
    return tuple(out)


def hints_for_failure(exercise_meta: ExerciseMeta, failed_test_names: list[str]) -> list[Text]:
    """The hints to show after a failed check: the hints keyed to the failing tests first (in the
    order the tests failed, each once), then the exercise's general hints, gentle → explicit."""
    out: list[Text] = []
    for name in failed_test_names:
        for hint in exercise_meta.hints_for(name):
            if hint not in out:
                out.append(hint)
    out.extend(h for h in exercise_meta.hints if h not in out)
    return out


def _check_links(links: list[_Link], content: Content, known_ids: dict[str, str]) -> None:
    for link in links:
        kind = _LINK_KINDS[link.field]
        target = content.item(link.target)
        if not isinstance(target, kind):
            hint = ""
            if link.target in known_ids:
                hint = f" (it is defined but invalid: see {known_ids[link.target]})"
            link.ctx.add(
                link.line,
                f"{link.what}: '{link.field}' links to '{link.target}', "
                f"which is not a known {link.field[:-1]}{hint}",
            )


def _backlinks(content: Content) -> Content:
    """The same content with each question's and insight's cards filled in from the cards."""
    q_cards: dict[str, list[str]] = {}
    i_cards: dict[str, list[str]] = {}
    for card in content.cards:
        for q in card.questions:
            q_cards.setdefault(q, []).append(card.id)
        for i in card.insights:
            i_cards.setdefault(i, []).append(card.id)
    return Content(
        [replace(q, cards=tuple(q_cards.get(q.id, ()))) for q in content.questions],
        [replace(i, cards=tuple(i_cards.get(i.id, ()))) for i in content.insights],
        content.cards,
        content.checklist,
        content.exercises,
        content.decks,
    )


# --------------------------------------------------------------------------- entry points


def load_content(
    content_dir: Path | None = None,
    exercises_dir: Path | None = None,
    decks_dir: Path | None = None,
    *,
    include_decks: bool = True,
) -> tuple[Content, list[Problem]]:
    """Load and validate everything. Returns the content and every problem found.

    Problems with severity "error" concern the given content; "warning"s are learner decks that
    were skipped. Items with problems are left out of the returned content.
    """
    content, problems, ids = _load_builtin(content_dir, exercises_dir)
    if include_decks:
        ddir = Path(decks_dir) if decks_dir is not None else locations.decks_dir()
        for deck_obj, deck_cards, deck_problems in load_decks(ddir, content, ids):
            problems.extend(deck_problems)
            if deck_obj is not None:
                content.cards.extend(deck_cards)
                content.decks.append(deck_obj)
    return _backlinks(content), problems


def _load_builtin(
    content_dir: Path | None, exercises_dir: Path | None
) -> tuple[Content, list[Problem], _Ids]:
    cdir = Path(content_dir) if content_dir is not None else locations.content_dir()
    edir = Path(exercises_dir) if exercises_dir is not None else locations.exercises_dir()
    problems: list[Problem] = []
    ids = _Ids()
    links: list[_Link] = []

    def parse(name: str) -> tuple[Any, _Ctx]:
        path = cdir / name
        ctx = _Ctx(str(path), problems)
        if not path.is_file():
            ctx.add(1, f"missing content file {name}")
            return None, ctx
        return _parse(path, ctx), ctx

    data, ctx = parse("questions.yaml")
    questions = _read_questions(data, ctx, ids, links)
    data, ctx = parse("insights.yaml")
    insights = _read_insights(data, ctx, ids, links)
    data, ctx = parse("flashcards.yaml")
    deck, cards = _read_deck(data, ctx, ids, links, builtin=True) if data is not None else (None, [])
    data, ctx = parse("checklist.yaml")
    checklist = _read_checklist(data, ctx, ids, links)
    exercises = _read_exercises(edir, ids, links, problems)

    content = Content(questions, insights, cards, checklist, exercises, [deck] if deck else [])
    _check_links(links, content, ids.seen)
    return content, problems, ids


def load_decks(ddir: Path, content: Content, ids: _Ids | None = None):
    """Yield (deck or None, cards, warnings) for every learner deck; a bad deck yields None."""
    if not ddir.is_dir():
        return
    ids = ids or _Ids()
    if not ids.seen:
        for item in content._index:
            ids.seen[item] = "built-in content"
    for path in sorted([*ddir.glob("*.yaml"), *ddir.glob("*.yml")]):
        deck_problems: list[Problem] = []
        ctx = _Ctx(str(path), deck_problems, severity="warning")
        deck_ids = _Ids()
        deck_ids.seen = dict(ids.seen)
        deck_links: list[_Link] = []
        data = _parse(path, ctx)
        deck, cards = (
            _read_deck(data, ctx, deck_ids, deck_links, builtin=False) if data is not None else (None, [])
        )
        trial = Content(
            content.questions,
            content.insights,
            [*content.cards, *cards],
            content.checklist,
            content.exercises,
        )
        _check_links(deck_links, trial, deck_ids.seen)
        if deck is not None and any(d.id == deck.id for d in content.decks):
            ctx.add(
                data.line if isinstance(data, LMap) else 1,
                f"deck id '{deck.id}' is already used by another deck",
            )
        if deck_problems:
            # the deck is left out whole: every one of its problems says so (no extra line, so the
            # app and `validate` count the same problems)
            yield None, [], [replace(p, deck_skipped=True) for p in deck_problems]
            continue
        ids.seen.update({c.id: str(path) for c in cards})
        yield deck, cards, []


def validate_decks_only(ddir: Path) -> list[Problem]:
    """Validate a folder of learner decks against the built-in content (errors, not warnings)."""
    content, _, ids = _load_builtin(None, None)
    out: list[Problem] = []
    for _, _, deck_problems in load_decks(ddir, content, ids):
        out.extend(replace(p, severity="error") for p in deck_problems)
    return out


_CACHE: dict[tuple[str, str, str], tuple[Content, list[Problem]]] = {}
CACHE_FORMAT = 1  # bump when the model classes change shape


def _inputs(cdir: Path, edir: Path, ddir: Path) -> list[Path]:
    """Every file load_content reads or looks for (a file that appears or goes changes the key)."""
    files = sorted(cdir.glob("*.yaml"))
    for meta in sorted(edir.glob("*/exercise.yaml")):
        files.append(meta)
        files.extend(p for p in (meta.parent / "prompt.md", meta.parent / "starter.py") if p.is_file())
    if ddir.is_dir():
        files.extend(sorted([*ddir.glob("*.yaml"), *ddir.glob("*.yml")]))
    return files


def _content_key(cdir: Path, edir: Path, ddir: Path) -> str:
    """A hash of everything the parsed content depends on: this module's code, and the name and
    bytes of every input file."""
    import hashlib

    from studytool import __version__

    h = hashlib.blake2b(digest_size=20)
    h.update(f"{CACHE_FORMAT}|{__version__}|".encode())
    h.update(Path(__file__).read_bytes())
    for path in _inputs(cdir, edir, ddir):
        h.update(str(path).encode("utf-8") + b"\0")
        h.update(path.read_bytes() if path.suffix in (".yaml", ".yml") else b"present")
        h.update(b"\0")
    return h.hexdigest()


def _load_cached(cdir: Path, edir: Path, ddir: Path) -> tuple[Content, list[Problem]]:
    """load_content, through a pickle in the user's cache directory keyed by :func:`_content_key`:
    parsing the YAML is most of the app's start-up; reading the files to hash them is not.
    A missing, stale or unreadable cache is rebuilt; one that cannot be written is skipped."""
    import pickle

    try:
        key = _content_key(cdir, edir, ddir)
    except OSError:
        return load_content(cdir, edir, ddir)
    cache = locations.cache_dir() / "content.pickle"
    try:
        with open(cache, "rb") as f:
            stored_key, content, problems = pickle.load(f)
        if stored_key == key and isinstance(content, Content):
            return content, problems
    except Exception:  # noqa: BLE001 - a cache: any failure to read it means "parse again"
        pass
    content, problems = load_content(cdir, edir, ddir)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"content.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump((key, content, problems), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass
    return content, problems


def default_content() -> tuple[Content, list[Problem]]:
    """The built-in content plus the learner's decks, loaded once per process (and parsed once
    per change of its files: see :func:`_load_cached`)."""
    cdir, edir, ddir = locations.content_dir(), locations.exercises_dir(), locations.decks_dir()
    key = (str(cdir), str(edir), str(ddir))
    if key not in _CACHE:
        _CACHE[key] = _load_cached(cdir, edir, ddir)
    return _CACHE[key]


def load_exercises(exercises_dir: Path | None = None) -> tuple[list[ExerciseMeta], list[Problem]]:
    edir = Path(exercises_dir) if exercises_dir is not None else locations.exercises_dir()
    problems: list[Problem] = []
    return _read_exercises(edir, _Ids(), [], problems), problems
