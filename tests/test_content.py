"""Content loading and validation: the real content, and a corpus of broken files."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studytool.cli import main
from studytool.content import LANGS, Text, load_content

MINI = Path(__file__).parent / "data" / "mini"


def _texts(obj):
    """Every Text inside a content item."""
    if isinstance(obj, Text):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _texts(x)
    elif hasattr(obj, "__dataclass_fields__"):
        for name in obj.__dataclass_fields__:
            yield from _texts(getattr(obj, name))


@pytest.fixture(scope="module")
def real():
    content, problems = load_content(include_decks=False)
    return content, problems


def test_builtin_content_has_no_problems(real):
    _, problems = real
    assert [str(p) for p in problems] == []


def test_every_question_q13_to_q24(real):
    content, _ = real
    assert [q.id for q in content.questions] == [f"q{n}" for n in range(13, 25)]
    assert [q.number for q in content.questions] == list(range(13, 25))
    topics = {q.id: q.topic for q in content.questions}
    assert {topics[f"q{n}"] for n in range(13, 17)} == {"position-encoding"}
    assert {topics[f"q{n}"] for n in range(17, 21)} == {"architecture"}
    assert {topics[f"q{n}"] for n in (21, 22)} == {"efficiency"}
    assert {topics[f"q{n}"] for n in (23, 24)} == {"parallelism-future"}
    for q in content.questions:
        assert 3 <= len(q.key_points) <= 6, q.id


def test_ten_insights_and_21_checklist_items(real):
    content, _ = real
    assert [i.id for i in content.insights] == [f"i{n:02d}" for n in range(1, 11)]
    groups = [c.group for c in content.checklist]
    assert groups == ["theory"] * 10 + ["programming"] * 6 + ["systems"] * 5


def test_cards_cover_every_question_and_insight(real):
    content, _ = real
    assert len(content.cards) >= 60
    assert {c.type for c in content.cards} == {"basic", "cloze", "truefalse"}
    for q in content.questions:
        assert q.cards, f"{q.id} has no card"
    for i in content.insights:
        assert i.cards, f"{i.id} has no card"


def test_every_item_has_both_languages(real):
    content, _ = real
    items = [*content.questions, *content.insights, *content.cards, *content.checklist, *content.exercises]
    n = 0
    for item in items:
        for text in _texts(item):
            for lang in LANGS:
                assert text.get(lang).strip(), f"{item.id}: empty {lang}"
            n += 1
    assert n > 350  # the loop really walked the content (about 400 texts)


def test_seed_slip_is_fixed(real):
    content, _ = real
    dump = json.dumps(content.to_json(), ensure_ascii=False)
    assert "你爱你" not in dump
    assert "你爱我" in dump


def test_misconceptions_the_seed_corrects(real):
    content, _ = real
    q = {x.id: x for x in content.questions}
    # a question's checks are its own misconceptions plus its linked true/false cards; a claim a
    # card already states is not repeated as a question misconception (issue 10: "keep it once")
    claims = lambda qids: " ".join(  # noqa: E731
        c.statement.en.lower() + " " + c.explanation.en.lower()
        for qid in qids
        for c in content.misconception_checks(q[qid])
    )
    assert "flashattention trades memory for speed" in claims(["q21"])
    assert "alibi is an improvement of rope" in claims(["q16"])
    assert "bert" in claims(["q20"])
    assert "at least 1" in claims(["q17"])
    for qid in q:
        statements = [c.statement.en.lower().rstrip(".") for c in content.misconception_checks(q[qid])]
        assert len(statements) == len(set(statements)), qid


# --------------------------------------------------------------------------- broken corpus


def _mini(tmp_path: Path) -> Path:
    d = tmp_path / "content"
    shutil.copytree(MINI, d)
    (tmp_path / "exercises").mkdir()
    return d


def _validate(d: Path) -> int:
    return main(["validate", str(d), "--exercises", str(d.parent / "exercises")])


BROKEN = [
    # (case, file, old, new, expected line, message pattern)
    ("syntax-error", "questions.yaml", "    number: 13\n", "    number: [13\n", None, r"YAML syntax error"),
    (
        "duplicate-id",
        "flashcards.yaml",
        "  - id: flash-tf",
        "  - id: pe-basic",
        17,
        r"duplicate id 'pe-basic' \(first defined at .*flashcards.yaml:5\)",
    ),
    (
        "duplicate-key",
        "insights.yaml",
        "    number: 1\n",
        "    number: 1\n    number: 2\n",
        4,
        r"duplicate key 'number'",
    ),
    (
        "dangling-link",
        "insights.yaml",
        "questions: [q13]",
        "questions: [q13, q99]",
        7,
        r"insight i01: 'questions' links to 'q99', which is not a known question",
    ),
    (
        "missing-field",
        "questions.yaml",
        "    topic: position-encoding\n",
        "",
        2,
        r"question q13: missing field 'topic'",
    ),
    (
        "wrong-type",
        "questions.yaml",
        "    number: 13",
        "    number: thirteen",
        3,
        r"question q13: field 'number' must be an integer, got str",
    ),
    (
        "missing-language",
        "checklist.yaml",
        ', zh: 能用"我爱你"例子解释位置编码}',
        "}",
        4,
        r"checklist item t01: 'text' is missing the 'zh' text",
    ),
    (
        "empty-language",
        "insights.yaml",
        "zh: 没有位置编码就看不到顺序。",
        "zh: ''",
        6,
        r"insight i01: 'explanation'.zh must be non-empty text",
    ),
    (
        "bad-topic",
        "flashcards.yaml",
        "topic: efficiency",
        "topic: speed",
        19,
        r"card flash-tf: topic 'speed' is not one of",
    ),
    (
        "cloze-mismatch",
        "flashcards.yaml",
        'zh: "dL/dx = dL/dy (dF/dx + {{I}})"',
        'zh: "dL/dx"',
        15,
        r"cloze deletions differ between en \(1\) and zh \(0\)",
    ),
    (
        "unknown-field",
        "questions.yaml",
        "    insights: [i01]",
        "    insight: [i01]",
        17,
        r"question q13: unknown field 'insight'",
    ),
    (
        "wrong-card-field",
        "flashcards.yaml",
        "    answer: false",
        "    answer: false\n    front: {en: a, zh: b}",
        22,
        r"field 'front' does not belong to a truefalse card",
    ),
    (
        "bool-as-string",
        "flashcards.yaml",
        "    answer: false",
        "    answer: 'no'",
        21,
        r"field 'answer' must be true or false",
    ),
]


@pytest.mark.parametrize("case,file,old,new,line,pattern", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_content_gives_file_line_and_exit_2(tmp_path, capsys, case, file, old, new, line, pattern):
    d = _mini(tmp_path)
    path = d / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"corpus case {case} no longer applies"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert _validate(d) == 2
    out = capsys.readouterr().out.splitlines()
    line_re = str(line) if line is not None else r"\d+"
    where = re.escape(str(path)) + ":" + line_re + ": "
    assert any(re.match(where + ".*?" + pattern, o) for o in out), out


def test_mini_content_is_clean(tmp_path, capsys):
    assert _validate(_mini(tmp_path)) == 0


def test_validate_never_tracebacks_on_garbage(tmp_path):
    d = _mini(tmp_path)
    (d / "questions.yaml").write_bytes(b"\xff\xfe not utf8 \x00")
    (d / "insights.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    (d / "flashcards.yaml").write_text("", encoding="utf-8")
    (d / "checklist.yaml").write_text("checklist: 7\n", encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "studytool.cli",
            "validate",
            str(d),
            "--exercises",
            str(tmp_path / "exercises"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{d / 'questions.yaml'}:1: not UTF-8 text" in proc.stdout
    assert f"{d / 'insights.yaml'}:1: expected a mapping" in proc.stdout
    assert f"{d / 'flashcards.yaml'}:1: file is empty" in proc.stdout
    assert f"{d / 'checklist.yaml'}:1: 'checklist' must be a list" in proc.stdout


# --------------------------------------------------------------------------- learner decks


GOOD_DECK = """\
deck: {id: mine, title: {en: My deck, zh: 我的卡组}}
cards:
  - id: my-rope-card
    type: basic
    topic: position-encoding
    front: {en: What does RoPE rotate?, zh: RoPE 旋转什么？}
    back: {en: Queries and keys, zh: 查询和键}
    questions: [q16]
"""


def test_learner_decks_load_and_bad_ones_are_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYTOOL_HOME", str(tmp_path))
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "good.yaml").write_text(GOOD_DECK, encoding="utf-8")
    (decks / "bad.yaml").write_text(
        GOOD_DECK.replace("id: mine", "id: other")
        .replace("my-rope-card", "pe-basic-x")
        .replace("q16", "q99"),
        encoding="utf-8",
    )
    # read after good.yaml (decks load in name order), so its copy of my-rope-card clashes
    (decks / "zz-clash.yaml").write_text(GOOD_DECK.replace("id: mine", "id: clash"), encoding="utf-8")
    content, problems = load_content()
    ids = {c.id for c in content.cards}
    assert "my-rope-card" in ids and "pe-basic-x" not in ids
    assert {d.id for d in content.decks} >= {"mine"}
    assert all(p.severity == "warning" for p in problems)
    msgs = [str(p) for p in problems]
    assert any(re.match(rf"{re.escape(str(decks / 'bad.yaml'))}:8: .*'q99'", m) for m in msgs), msgs
    assert any("zz-clash.yaml:3: duplicate id 'my-rope-card'" in m for m in msgs), msgs
    # the same folder through `validate DIR` reports them as errors, exit 2
    assert main(["validate", str(decks)]) == 2


def test_export_json_shape(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("STUDYTOOL_HOME", str(tmp_path))
    assert main(["export", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"questions", "insights", "flashcards", "checklist"}
    for key in doc:
        assert doc[key], key
        for item in doc[key]:
            assert item["id"]
    q = doc["questions"][0]
    assert set(q["question"]) == {"en", "zh"} and q["cards"]


def test_hostile_yaml_in_a_deck_is_a_problem_not_a_crash(tmp_path, monkeypatch, capsys):
    # a self-referencing alias (endless recursion), an alias bomb (exponential expansion) and
    # very deep nesting: each deck is reported with its file and skipped
    monkeypatch.setenv("STUDYTOOL_HOME", str(tmp_path))
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "cycle.yaml").write_text("deck: &a {id: x, cards: [*a]}\n", encoding="utf-8")
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (decks / "bomb.yaml").write_text("\n".join(bomb) + "\n", encoding="utf-8")
    (decks / "deep.yaml").write_text("cards: " + "[" * 900 + "]" * 900 + "\n", encoding="utf-8")
    (decks / "good.yaml").write_text(GOOD_DECK, encoding="utf-8")
    content, problems = load_content()
    assert "my-rope-card" in {c.id for c in content.cards}
    msgs = [str(p) for p in problems]
    assert any(m.startswith(f"{decks / 'cycle.yaml'}:1: a YAML alias refers to") for m in msgs), msgs
    assert f"{decks / 'bomb.yaml'}:1: too large: its aliases expand to more than 200000 values" in msgs
    assert f"{decks / 'deep.yaml'}:1: nested too deeply" in msgs
    assert main(["validate", str(decks)]) == 2
    assert "Traceback" not in capsys.readouterr().err
