"""Export the study content as an Anki package (``studytool export apkg``).

Every flashcard (basic, cloze, true/false) and every question becomes one Anki note with the
English and the Chinese text in separate fields and the topic as a tag. Model (note type) ids and
the built-in deck id are fixed, and each note's GUID is derived from its content id, so importing
a newer export *updates* the notes a learner already has instead of adding duplicates.

Anki's importer updates a note whose GUID it has only when the incoming note's modification time
is newer than the one it holds, and counts every such note as "updated". So each note's
modification time is derived from its content: a hash of its fields, tags and note type is kept in
``<data>/anki-export.json`` with the time given to it; while the hash is unchanged the note keeps
that time (an unchanged note exported twice is a duplicate to Anki, not an update), and when the
content changes it gets a later time (so Anki does update it). Note ids are not derived from the
content: Anki matches notes by GUID.

genanki is imported only when a package is written, so the rest of the CLI never pays for it.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studytool import locations
from studytool.content import CLOZE_RE, Card, Content, Question, Text
from studytool.i18n import Msg, render

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
    """The package could not be written: ``msg`` names the path and the reason (catalogue
    ``export.*``); ``str()`` is the English text."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(render(msg, "en"))
        self.msg = msg


@dataclass(frozen=True)
class ExportResult:
    path: Path
    notes: int
    by_kind: dict[str, int]
    changed: int = 0  # notes new or changed since the last export (the ones Anki will update)
    state_saved: bool = True  # the modification times were recorded (else the next export is "changed")
    first: bool = False  # no record of an earlier export from this data directory


@dataclass
class _Pending:
    """A note before it is written: its content hash decides its modification time."""

    note: Any
    content_id: str
    digest: str
    mtime: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


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


def _note_class() -> Any:
    import genanki

    class _TimedNote(genanki.Note):
        """A note written with its own modification time (genanki gives all notes the package's)."""

        mtime: int = 0

        def write_to_db(self, cursor: Any, timestamp: float, deck_id: int, id_gen: Any) -> Any:
            return super().write_to_db(cursor, self.mtime or timestamp, deck_id, id_gen)

    return _TimedNote


def _clock() -> float:
    """The time a new or changed note is given (tests replace it)."""
    return time.time()


def content_digest(model_id: int, fields: list[str], tags: list[str]) -> str:
    """The hash a note's modification time follows: its note type, fields and tags."""
    blob = json.dumps([model_id, fields, sorted(tags)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _load_state(path: Path) -> dict[str, list[Any]]:
    """``{guid: [digest, mtime]}`` from the last export; empty when absent or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    notes = data.get("notes") if isinstance(data, dict) else None
    if not isinstance(notes, dict):
        return {}
    return {
        k: v
        for k, v in notes.items()
        if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], int)
    }


def assign_mtimes(pending: list[_Pending], state: dict[str, list[Any]], now: int) -> int:
    """Give each note its modification time: the recorded one while its digest is unchanged, else
    a later one (``now``, or one second after the recorded time if the clock is behind it).
    Returns how many notes are new or changed."""
    changed = 0
    for p in pending:
        guid = p.note.guid
        old = state.get(guid)
        if old is not None and old[0] == p.digest:
            p.mtime = old[1]
        else:
            p.mtime = max(now, old[1] + 1) if old is not None else now
            changed += 1
        p.note.mtime = p.mtime
    return changed


def _save_state(path: Path, state: dict[str, list[Any]], pending: list[_Pending]) -> bool:
    notes = dict(state)
    notes.update({p.note.guid: [p.digest, p.mtime] for p in pending})
    doc = {"about": "studytool export apkg: each note's content hash and modification time", "notes": notes}
    try:
        fd, tmp = tempfile.mkstemp(prefix=".anki-export-", suffix=".json", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=0, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        return False
    return True


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


def build_package(content: Content) -> tuple[Any, dict[str, int], list[_Pending]]:
    """The genanki Package for all questions and cards, the note count per kind, and each note
    with its content digest (its modification time is set by :func:`assign_mtimes`)."""
    import genanki

    models = _models()
    note_cls = _note_class()
    titles = {d.id: d.title for d in content.decks}
    decks: dict[str, Any] = {}
    pending: list[_Pending] = []

    def deck(deck_id: str) -> Any:
        if deck_id not in decks:
            title = titles.get(deck_id)
            name = "Lecture 03" if deck_id == "lecture03" else (title.en if title else deck_id)
            decks[deck_id] = genanki.Deck(_deck_id(deck_id), f"{DECK_ROOT}::{name}")
        return decks[deck_id]

    def add(deck_id: str, kind: str, model_kind: str, fields: list[str], tags: list[str], cid: str) -> None:
        model = models[model_kind]
        note = note_cls(model=model, fields=fields, tags=tags, guid=note_guid(cid))
        deck(deck_id).add_note(note)
        pending.append(_Pending(note, cid, content_digest(model.model_id, fields, tags)))
        counts[kind] += 1

    counts = {"question": 0, "basic": 0, "cloze": 0, "truefalse": 0}
    for q in content.questions:
        add("lecture03", "question", "question", _question_fields(q), _tags(q.topic, "question"), q.id)
    for card in content.cards:
        add(card.deck, card.type, card.type, _card_fields(card), _tags(card.topic, card.type), card.id)
    return genanki.Package(list(decks.values())), counts, pending


def resolve_path(path: Path | None) -> Path:
    """The file to write: PATH, PATH/studytool-lecture03.apkg for a folder, or ./ by default."""
    if path is None:
        return Path.cwd() / DEFAULT_FILENAME
    path = Path(path).expanduser()
    if path.is_dir():
        return path / DEFAULT_FILENAME
    return path


def export_apkg(
    content: Content, path: Path | None = None, *, state_path: Path | None = None, now: float | None = None
) -> ExportResult:
    """Write the package atomically (a temporary file beside it, then a rename), each note with
    the modification time its content gives it; then record those times for the next export."""
    target = resolve_path(path)
    parent = target.parent
    if not parent.is_dir():
        key = "export.folder_not_a_folder" if parent.exists() else "export.folder_missing"
        raise ExportError(Msg(key, path=str(target), folder=str(parent)))
    if target.suffix.lower() != ".apkg":
        raise ExportError(Msg("export.not_apkg", path=str(target)))
    package, counts, pending = build_package(content)
    state_file = state_path if state_path is not None else locations.anki_export_state_path()
    state = _load_state(state_file)
    at = int(now if now is not None else _clock())
    changed = assign_mtimes(pending, state, at)
    # the package's own time (note ids, note types) follows the notes: the same for the same content
    stamp = max((p.mtime for p in pending), default=at)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".studytool-", suffix=".apkg", dir=parent)
    except OSError as exc:
        raise ExportError(
            Msg("export.cannot_write", path=str(target), reason=exc.strerror or str(exc))
        ) from None
    os.close(fd)
    try:
        package.write_to_file(tmp, timestamp=stamp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; a package is an ordinary file
        os.replace(tmp, target)
    except OSError as exc:
        raise ExportError(
            Msg("export.cannot_write", path=str(target), reason=exc.strerror or str(exc))
        ) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    saved = _save_state(state_file, state, pending)
    return ExportResult(target, sum(counts.values()), counts, changed, saved, first=not state)
