"""`studytool export apkg`: open the package (a zip holding an SQLite collection) and check it."""

from __future__ import annotations

import json
import os
import sqlite3
import zipfile
from pathlib import Path

import genanki
import pytest

from studytool.cli import main
from studytool.content import load_content
from studytool.export import GUID_NAMESPACE, MODEL_IDS, note_guid, to_anki_cloze

DECK = """deck: {id: mine, title: {en: "My deck", zh: "我的卡组"}}
cards:
  - id: my-two-blanks
    type: cloze
    topic: efficiency
    text: {en: "FlashAttention keeps {{O(n)}} extra memory and {{Θ(n²·d²/M)}} HBM accesses, n < d² never.",
           zh: "FlashAttention 的额外内存为 {{O(n)}}，HBM 访问为 {{Θ(n²·d²/M)}}。"}
"""


def _open(path: Path, tmp: Path) -> sqlite3.Connection:
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.startswith("collection.anki2"))
        z.extract(name, tmp)
    return sqlite3.connect(tmp / name)


def _notes(db: sqlite3.Connection) -> dict[str, dict]:
    """Notes by content id (the last field): guid, model id, fields, tags, number of cards."""
    out = {}
    for nid, guid, mid, flds, tags in db.execute("select id, guid, mid, flds, tags from notes"):
        fields = flds.split("\x1f")
        n_cards = db.execute("select count(*) from cards where nid = ?", (nid,)).fetchone()[0]
        out[fields[-1]] = {"guid": guid, "mid": mid, "fields": fields, "tags": tags.split(), "cards": n_cards}
    return out


@pytest.fixture
def home(studytool_home: Path) -> Path:
    (studytool_home / "decks").mkdir(parents=True)
    (studytool_home / "decks" / "mine.yaml").write_text(DECK, encoding="utf-8")
    return studytool_home


def test_package_holds_every_card_and_question_with_stable_guids(home, tmp_path, capsys):
    content, problems = load_content()
    assert not problems
    first, second = tmp_path / "a.apkg", tmp_path / "b.apkg"
    assert main(["export", "apkg", str(first)]) == 0
    out = capsys.readouterr().out
    expected = len(content.cards) + len(content.questions)
    assert f"wrote {expected} notes" in out and str(first) in out
    assert main(["export", "apkg", str(second)]) == 0

    a = _notes(_open(first, tmp_path / "x"))
    b = _notes(_open(second, tmp_path / "y"))
    assert len(a) == expected == len(b)
    assert len(content.questions) == 12
    assert set(a) == {c.id for c in content.cards} | {q.id for q in content.questions}
    # the GUID is a function of the content id: the same in both exports, and the documented one
    assert {k: v["guid"] for k, v in a.items()} == {k: v["guid"] for k, v in b.items()}
    assert all(v["guid"] == genanki.guid_for(GUID_NAMESPACE, k) == note_guid(k) for k, v in a.items())
    assert len({v["guid"] for v in a.values()}) == expected

    # note types and ids are fixed; the cloze type is Anki's cloze kind (type 1)
    db = _open(first, tmp_path / "z")
    models = json.loads(db.execute("select models from col").fetchone()[0])
    assert {int(k) for k in models} == set(MODEL_IDS.values())
    assert models[str(MODEL_IDS["cloze"])]["type"] == 1
    assert all(v["mid"] == MODEL_IDS[c.type] for c in content.cards for k, v in a.items() if k == c.id)
    decks = json.loads(db.execute("select decks from col").fetchone()[0])
    names = {d["name"] for d in decks.values()}
    assert {"studytool::Lecture 03", "studytool::My deck"} <= names


def test_cloze_numbering_english_and_chinese_fields(home, tmp_path):
    path = tmp_path / "deck.apkg"
    assert main(["export", "apkg", str(path)]) == 0
    notes = _notes(_open(path, tmp_path / "x"))
    content, _ = load_content()
    for card in content.cards:
        n = notes[card.id]
        assert card.topic in n["tags"] and f"studytool::{card.type}" in n["tags"]
        if card.type != "cloze":
            assert n["cards"] == 1
            continue
        deletions = len(card.cloze_answers("en"))
        en, zh = n["fields"][0], n["fields"][1]
        for i in range(1, deletions + 1):
            assert f"{{{{c{i}::" in en and f"{{{{c{i}::" in zh, card.id
        assert f"{{{{c{deletions + 1}::" not in en
        assert n["cards"] == deletions  # Anki makes one card per deletion
    two = notes["my-two-blanks"]
    assert two["fields"][0].startswith(
        "FlashAttention keeps {{c1::O(n)}} extra memory and {{c2::Θ(n²·d²/M)}}"
    )
    assert "n &lt; d²" in two["fields"][0]  # content text is escaped, not read as HTML
    assert two["cards"] == 2
    # true/false and questions carry both languages
    tf = notes["flashattention-exact-tf"]["fields"]
    assert tf[1] == "False" and tf[4] == "错误" and "FlashAttention" in tf[3]
    q = notes["q21"]["fields"]
    assert q[2].startswith("<ol><li>") and "<li>" in q[5] and "注意力" in q[3]


def test_to_anki_cloze():
    assert to_anki_cloze("a {{x}} b {{y < z}}\nc") == "a {{c1::x}} b {{c2::y &lt; z}}<br>c"


def test_default_path_folder_and_errors(home, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "apkg"]) == 0
    assert (tmp_path / "studytool-lecture03.apkg").is_file()
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["export", "apkg", str(folder)]) == 0
    assert (folder / "studytool-lecture03.apkg").is_file()
    assert not [p for p in folder.iterdir() if p.name.startswith(".studytool-")]  # no temp left
    capsys.readouterr()

    assert main(["export", "apkg", str(tmp_path / "missing" / "x.apkg")]) == 2
    err = capsys.readouterr().err
    assert "missing/x.apkg: cannot write: folder" in err and "does not exist" in err
    assert main(["export", "apkg", str(tmp_path / "x.zip")]) == 2
    assert "must end in .apkg" in capsys.readouterr().err
    assert main(["export", "apkg", "/proc/studytool.apkg"]) == 2  # a folder no one can write
    assert "/proc/studytool.apkg: cannot write" in capsys.readouterr().err
    assert main(["export", "json", str(tmp_path / "x.json")]) == 2
    assert "PATH is for export apkg" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder(home, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert main(["export", "apkg", str(ro / "x.apkg")]) == 2
        assert "cannot write" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


# --------------------------------------------------------------------------- modification times


def _mods(path: Path, tmp: Path) -> dict[str, tuple[int, int]]:
    """(note mod, card mod) by content id."""
    db = _open(path, tmp)
    out = {}
    for nid, mod, flds in db.execute("select id, mod, flds from notes"):
        cmod = db.execute("select max(mod) from cards where nid = ?", (nid,)).fetchone()[0]
        out[flds.split("\x1f")[-1]] = (mod, cmod)
    return out


def test_an_unchanged_note_keeps_its_modification_time(home, tmp_path, monkeypatch, capsys):
    """Anki counts a note as updated when its mtime is newer than the one it holds: an unchanged
    note must come out of a later export with the same time, a changed one with a later time."""
    import studytool.export as export

    clock = iter([1_800_000_000, 1_800_000_500, 1_800_001_000])
    monkeypatch.setattr(export, "_clock", lambda: next(clock))
    a, b, c = tmp_path / "a.apkg", tmp_path / "b.apkg", tmp_path / "c.apkg"
    assert main(["export", "apkg", str(a)]) == 0
    assert main(["export", "apkg", str(b)]) == 0
    first, second = _mods(a, tmp_path / "x"), _mods(b, tmp_path / "y")
    assert first == second  # nothing changed: the same times, notes and cards
    assert {m for m, _ in first.values()} == {1_800_000_000}
    assert "0 of them new or changed since the last export" in capsys.readouterr().err

    deck = home / "decks" / "mine.yaml"
    deck.write_text(deck.read_text().replace("extra memory", "extra memory (linear in n)"), encoding="utf-8")
    assert main(["export", "apkg", str(c)]) == 0
    third = _mods(c, tmp_path / "z")
    assert third["my-two-blanks"] == (1_800_001_000, 1_800_001_000)  # changed: later, so Anki updates it
    assert {k: v for k, v in third.items() if k != "my-two-blanks"} == {
        k: v for k, v in first.items() if k != "my-two-blanks"
    }
    assert "1 of them new or changed" in capsys.readouterr().err


def test_a_changed_note_moves_forward_even_when_the_clock_is_behind(tmp_path):
    from studytool.export import _Pending, assign_mtimes

    class N:
        def __init__(self, guid: str) -> None:
            self.guid, self.mtime = guid, 0

    pend = [_Pending(N("g1"), "a", "new-digest"), _Pending(N("g2"), "b", "same"), _Pending(N("g3"), "c", "x")]
    state = {"g1": ["old-digest", 2_000_000_000], "g2": ["same", 1_900_000_000]}
    assert assign_mtimes(pend, state, now=1_000_000_000) == 2  # g1 changed, g3 new
    assert [p.mtime for p in pend] == [2_000_000_001, 1_900_000_000, 1_000_000_000]
    assert [p.note.mtime for p in pend] == [2_000_000_001, 1_900_000_000, 1_000_000_000]


def test_an_unreadable_record_is_a_first_export_not_a_crash(home, tmp_path, capsys):
    from studytool import locations

    locations.anki_export_state_path().write_text("{not json", encoding="utf-8")
    assert main(["export", "apkg", str(tmp_path / "a.apkg")]) == 0
    err = capsys.readouterr().err
    assert "new or changed since the last export" not in err  # treated as the first export
    assert json.loads(locations.anki_export_state_path().read_text())["notes"]  # and rewritten


ANKI_PYTHON = os.environ.get("STUDYTOOL_ANKI_PYTHON", "/tmp/anki-venv/bin/python")
IMPORT_TWICE = """
import json, os, sys, tempfile
from anki.collection import Collection, ImportAnkiPackageRequest, ImportAnkiPackageOptions
col = Collection(os.path.join(tempfile.mkdtemp(), "c.anki2"))
out = []
for p in sys.argv[1:]:
    log = col.import_anki_package(ImportAnkiPackageRequest(package_path=p,
        options=ImportAnkiPackageOptions(merge_notetypes=True))).log
    out.append({k: len(getattr(log, k)) for k in ("new", "updated", "duplicate")})
col.close()
print(json.dumps(out))
"""


@pytest.mark.skipif(
    not Path(ANKI_PYTHON).is_file(), reason="no Anki library (pip install anki into its own venv)"
)
def test_real_anki_reports_an_unchanged_export_as_not_updated(home, tmp_path, monkeypatch):
    """With the real Anki backend: import, re-import an unchanged export (updated 0), then one
    with a changed note (updated 1, the rest untouched)."""
    import subprocess

    import studytool.export as export

    clock = iter([1_800_000_000, 1_800_000_500, 1_800_001_000])
    monkeypatch.setattr(export, "_clock", lambda: next(clock))
    paths = [tmp_path / f"{n}.apkg" for n in "abc"]
    assert main(["export", "apkg", str(paths[0])]) == 0
    assert main(["export", "apkg", str(paths[1])]) == 0
    deck = home / "decks" / "mine.yaml"
    deck.write_text(deck.read_text().replace("extra memory", "extra memory (linear in n)"), encoding="utf-8")
    assert main(["export", "apkg", str(paths[2])]) == 0
    proc = subprocess.run(
        [ANKI_PYTHON, "-c", IMPORT_TWICE, *map(str, paths)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    first, again, changed = json.loads(proc.stdout.strip().splitlines()[-1])
    n = first["new"]
    assert n > 100 and first["updated"] == 0
    assert again == {"new": 0, "updated": 0, "duplicate": n}
    assert changed == {"new": 0, "updated": 1, "duplicate": n - 1}
