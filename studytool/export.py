"""Export the study content as an Anki package (``studytool export apkg``).

Every flashcard (basic, cloze, true/false) and every question becomes one Anki note with the
English and the Chinese text in separate fields and the topic as a tag. Model (note type) ids and
the built-in deck id are fixed, and each note's GUID is derived from its content id, so importing
a newer export *updates* the notes a learner already has instead of adding duplicates.

genanki is imported only when a package is written, so the rest of the CLI never pays for it.
"""

from __future__ import annotations

import hashlib
import html
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studytool.content import CLOZE_RE, Card, Content, Question, Text

GUID_NAMESPACE = "studytool-lecture03"
DEFAULT_FILENAME = "studytool-lecture03.apkg"
BUILTIN_DECK_ID = 1_740_300_301  # fixed: the Anki deck "studytool::Lecture 03"
DECK_ROOT = "studytool"

# Fixed note-type ids: changing one makes Anki treat every note as new.
MODEL_IDS = {
    "basic": 1_740_300_311,
    "cloze": 1_740_300_312,
    "truefalse": 1_740_300_313,
    "question": 1_740_300_314,
}

_CSS = """.card { font-family: sans-serif; font-size: 18px; text-align: left; line-height: 1.45; }
.zh { margin-top: 0.8em; color: #555; }
.cloze { font-weight: bold; color: #1a5fb4; }
.meta { font-size: 12px; color: #999; margin-top: 1.5em; }
ol { margin-top: 0.3em; }
"""


class ExportError(Exception):
    """The package could not be written (a message naming the path and the reason)."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    notes: int
    by_kind: dict[str, int]


def note_guid(content_id: str) -> str:
    """The note's GUID: a pure function of the content id (stable across exports)."""
    import genanki

    return genanki.guid_for(GUID_NAMESPACE, content_id)


def _esc(text: str) -> str:
    return html.escape(text, quote=False).replace("\n", "<br>")


def _html(text: str) -> str:
    """Plain content text → Anki field HTML: escaped, paragraphs and lines kept."""
    return _esc(text.strip())


def to_anki_cloze(text: str) -> str:
    """``{{a}} … {{b}}`` → ``{{c1::a}} … {{c2::b}}`` (one Anki card per deletion), HTML-escaped."""
    text = text.strip()
    parts, last = [], 0
    for n, m in enumerate(CLOZE_RE.finditer(text), 1):
        parts.append(_esc(text[last : m.start()]))
        parts.append(f"{{{{c{n}::{_esc(m.group(1))}}}}}")
        last = m.end()
    parts.append(_esc(text[last:]))
    return "".join(parts)


def _models() -> dict[str, Any]:
    import genanki

    def card(name: str, front: str, back: str) -> dict[str, str]:
        return {"name": name, "qfmt": front, "afmt": back}

    basic = genanki.Model(
        MODEL_IDS["basic"],
        "studytool basic (EN + 中文)",
        fields=[{"name": n} for n in ("Front", "Back", "Front (中文)", "Back (中文)", "Id")],
        templates=[
            card(
                "Card 1",
                "{{Front}}<div class=zh>{{Front (中文)}}</div>",
                "{{FrontSide}}<hr id=answer>{{Back}}<div class=zh>{{Back (中文)}}</div>"
                "<div class=meta>{{Id}}</div>",
            )
        ],
        css=_CSS,
    )
    cloze = genanki.Model(
        MODEL_IDS["cloze"],
        "studytool cloze (EN + 中文)",
        fields=[{"name": n} for n in ("Text", "Text (中文)", "Extra", "Extra (中文)", "Id")],
        templates=[
            card(
                "Cloze",
                "{{cloze:Text}}<div class=zh>{{cloze:Text (中文)}}</div>",
                "{{cloze:Text}}<div class=zh>{{cloze:Text (中文)}}</div><hr id=answer>"
                "{{Extra}}<div class=zh>{{Extra (中文)}}</div><div class=meta>{{Id}}</div>",
            )
        ],
        css=_CSS,
        model_type=genanki.Model.CLOZE,
    )
    truefalse = genanki.Model(
        MODEL_IDS["truefalse"],
        "studytool true/false (EN + 中文)",
        fields=[
            {"name": n}
            for n in (
                "Statement",
                "Answer",
                "Explanation",
                "Statement (中文)",
                "Answer (中文)",
                "Explanation (中文)",
                "Id",
            )
        ],
        templates=[
            card(
                "True or false?",
                "True or false? / 正确还是错误？<br><br>{{Statement}}"
                "<div class=zh>{{Statement (中文)}}</div>",
                "{{FrontSide}}<hr id=answer><b>{{Answer}}</b> — {{Explanation}}"
                "<div class=zh><b>{{Answer (中文)}}</b>——{{Explanation (中文)}}</div>"
                "<div class=meta>{{Id}}</div>",
            )
        ],
        css=_CSS,
    )
    question = genanki.Model(
        MODEL_IDS["question"],
        "studytool question (EN + 中文)",
        fields=[
            {"name": n}
            for n in (
                "Question",
                "Answer",
                "Key points",
                "Question (中文)",
                "Answer (中文)",
                "Key points (中文)",
                "Id",
            )
        ],
        templates=[
            card(
                "Question",
                "{{Question}}<div class=zh>{{Question (中文)}}</div>",
                "{{FrontSide}}<hr id=answer>{{Answer}}<br><br><b>Key points</b>"
                "{{Key points}}<div class=zh>{{Answer (中文)}}<br><br><b>要点</b>"
                "{{Key points (中文)}}</div><div class=meta>{{Id}}</div>",
            )
        ],
        css=_CSS,
    )
    return {"basic": basic, "cloze": cloze, "truefalse": truefalse, "question": question}


def _tags(topic: str, kind: str) -> list[str]:
    return [topic, f"studytool::{kind}"]


def _card_fields(card: Card) -> list[str]:
    if card.type == "basic":
        assert card.front and card.back
        return [_html(card.front.en), _html(card.back.en), _html(card.front.zh), _html(card.back.zh), card.id]
    if card.type == "cloze":
        assert card.text
        extra = card.extra or Text("", "")
        return [
            to_anki_cloze(card.text.en),
            to_anki_cloze(card.text.zh),
            _html(extra.en),
            _html(extra.zh),
            card.id,
        ]
    assert card.statement and card.explanation
    return [
        _html(card.statement.en),
        "True" if card.answer else "False",
        _html(card.explanation.en),
        _html(card.statement.zh),
        "正确" if card.answer else "错误",
        _html(card.explanation.zh),
        card.id,
    ]


def _key_points(points: tuple[Text, ...], lang: str) -> str:
    return "<ol>" + "".join(f"<li>{_html(p.get(lang))}</li>" for p in points) + "</ol>"


def _question_fields(q: Question) -> list[str]:
    return [
        _html(q.question.en),
        _html(q.answer.en),
        _key_points(q.key_points, "en"),
        _html(q.question.zh),
        _html(q.answer.zh),
        _key_points(q.key_points, "zh"),
        q.id,
    ]


def _deck_id(deck_id: str) -> int:
    if deck_id == "lecture03":
        return BUILTIN_DECK_ID
    return 1_740_400_000 + int(hashlib.sha1(deck_id.encode()).hexdigest()[:7], 16)


def build_package(content: Content) -> tuple[Any, dict[str, int]]:
    """The genanki Package for all questions and cards, and the note count per kind."""
    import genanki

    models = _models()
    titles = {d.id: d.title for d in content.decks}
    decks: dict[str, Any] = {}

    def deck(deck_id: str) -> Any:
        if deck_id not in decks:
            title = titles.get(deck_id)
            name = "Lecture 03" if deck_id == "lecture03" else (title.en if title else deck_id)
            decks[deck_id] = genanki.Deck(_deck_id(deck_id), f"{DECK_ROOT}::{name}")
        return decks[deck_id]

    counts = {"question": 0, "basic": 0, "cloze": 0, "truefalse": 0}
    for q in content.questions:
        deck("lecture03").add_note(
            genanki.Note(
                model=models["question"],
                fields=_question_fields(q),
                tags=_tags(q.topic, "question"),
                guid=note_guid(q.id),
            )
        )
        counts["question"] += 1
    for card in content.cards:
        deck(card.deck).add_note(
            genanki.Note(
                model=models[card.type],
                fields=_card_fields(card),
                tags=_tags(card.topic, card.type),
                guid=note_guid(card.id),
            )
        )
        counts[card.type] += 1
    return genanki.Package(list(decks.values())), counts


def resolve_path(path: Path | None) -> Path:
    """The file to write: PATH, PATH/studytool-lecture03.apkg for a folder, or ./ by default."""
    if path is None:
        return Path.cwd() / DEFAULT_FILENAME
    path = Path(path).expanduser()
    if path.is_dir():
        return path / DEFAULT_FILENAME
    return path


def export_apkg(content: Content, path: Path | None = None) -> ExportResult:
    """Write the package atomically (a temporary file beside it, then a rename)."""
    target = resolve_path(path)
    parent = target.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise ExportError(f"{target}: cannot write: folder {parent} {what}")
    if target.suffix.lower() != ".apkg":
        raise ExportError(f"{target}: an Anki package must end in .apkg")
    package, counts = build_package(content)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".studytool-", suffix=".apkg", dir=parent)
    except OSError as exc:
        raise ExportError(f"{target}: cannot write: {exc.strerror}") from None
    os.close(fd)
    try:
        package.write_to_file(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; a package is an ordinary file
        os.replace(tmp, target)
    except OSError as exc:
        raise ExportError(f"{target}: cannot write: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return ExportResult(target, sum(counts.values()), counts)
