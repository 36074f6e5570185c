"""The content loader's own promises: a duplicate id is reported whatever else is wrong, and the
app and `validate` count the same problems."""

from __future__ import annotations

from studytool.cli import main
from studytool.content import load_content, validate_decks_only

BROKEN = """\
deck:
  id: broken
  title: {en: Broken, zh: 坏的}
cards:
  - id: pe-permutation-invariance
    type: basic
    topic: position-encoding
    front: {en: A copy of a built-in id, zh: 内置 ID 的副本}
  - id: Bad Id
    type: basic
    topic: nowhere
    front: {en: x, zh: x}
    back: {en: y, zh: y}
"""


def test_a_duplicate_id_is_reported_even_when_the_card_has_other_problems(studytool_home, capsys):
    decks = studytool_home / "decks"
    decks.mkdir(parents=True)
    (decks / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    _, problems = load_content()
    msgs = [str(p) for p in problems]
    assert any("broken.yaml:5: duplicate id 'pe-permutation-invariance'" in m for m in msgs), msgs
    assert any("missing field 'back'" in m for m in msgs), msgs
    assert all(p.deck_skipped and p.severity == "warning" for p in problems)
    # the app counts len(problems); `validate DIR` lists and counts the very same problems
    assert main(["validate", str(decks)]) == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == msgs
    assert f"{len(problems)} problem(s) in decks in {decks}" in err
    assert "deck skipped" in err and "deck skipped" not in out
    assert len(validate_decks_only(decks)) == len(problems)
    assert main(["validate"]) == 2
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == len(problems) and f"{len(problems)} problem(s)" in err


def test_the_parsed_content_is_cached_and_follows_every_change(studytool_home, monkeypatch):
    """default_content() reads a pickle keyed by the files' bytes: a second process parses
    nothing, and editing a deck (or adding one) is seen at once."""
    from studytool import content as c

    decks = studytool_home / "decks"
    decks.mkdir(parents=True)
    deck = decks / "mine.yaml"
    deck.write_text(
        "deck: {id: mine, title: {en: Mine, zh: 我的}}\ncards:\n"
        "  - id: my-card\n    type: basic\n    topic: efficiency\n"
        "    front: {en: Q1, zh: 问1}\n    back: {en: A1, zh: 答1}\n",
        encoding="utf-8",
    )
    c._CACHE.clear()
    first, _ = c.default_content()
    assert (studytool_home / "cache" / "content.pickle").is_file()
    parsed = []
    real = c.load_content
    monkeypatch.setattr(c, "load_content", lambda *a, **k: parsed.append(1) or real(*a, **k))
    c._CACHE.clear()
    again, _ = c.default_content()
    assert parsed == [] and [x.id for x in again.cards] == [x.id for x in first.cards]
    deck.write_text(deck.read_text(encoding="utf-8").replace("Q1", "Q2"), encoding="utf-8")
    c._CACHE.clear()
    edited, _ = c.default_content()
    assert parsed == [1] and edited.item("my-card").front.en == "Q2"
    (studytool_home / "cache" / "content.pickle").write_bytes(b"not a pickle")
    c._CACHE.clear()
    assert c.default_content()[0].item("my-card").front.en == "Q2" and parsed == [1, 1]


def test_validate_speaks_chinese(studytool_home, capsys):
    decks = studytool_home / "decks"
    decks.mkdir(parents=True)
    (decks / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    assert main(["validate", str(decks), "--lang", "zh"]) == 2
    out, err = capsys.readouterr()
    assert "broken.yaml:5: 重复的 ID 'pe-permutation-invariance'" in out
    assert "卡片 pe-permutation-invariance：缺少字段 'back'" in out
    assert "broken.yaml:11: 卡片 Bad Id：topic 'nowhere' 不是" in out
    assert "个问题" in err and "已跳过这个卡组" in err
