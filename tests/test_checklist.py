"""The practice checklist: ticks, and evidence from passed exercises and recalled questions."""

from __future__ import annotations

import json

import pytest

from studytool.checklist import checklist_status
from studytool.cli import main
from studytool.content import default_content
from studytool.store import Store


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYTOOL_HOME", str(tmp_path))
    return tmp_path


def _listing(capsys) -> dict[str, dict]:
    assert main(["checklist", "--json"]) == 0
    return {item["id"]: item for item in json.loads(capsys.readouterr().out)}


def test_lists_21_items_in_three_groups(home, capsys):
    items = _listing(capsys)
    assert len(items) == 21
    assert sum(i["group"] == "theory" for i in items.values()) == 10
    assert sum(i["group"] == "programming" for i in items.values()) == 6
    assert sum(i["group"] == "systems" for i in items.values()) == 5
    assert not any(i["done"] for i in items.values())


def test_tick_and_untick(home, capsys):
    assert main(["checklist", "tick", "t03"]) == 0
    assert "ticked t03" in capsys.readouterr().out
    assert _listing(capsys)["t03"]["done"] is True
    assert main(["checklist", "untick", "t03"]) == 0
    capsys.readouterr()
    assert _listing(capsys)["t03"]["done"] is False


def test_unknown_item_is_a_usage_error(home, capsys):
    assert main(["checklist", "tick", "t99"]) == 2
    err = capsys.readouterr().err
    assert "unknown checklist item 't99'" in err and "t01" in err


def test_passing_the_linked_exercise_ticks_the_item(home, capsys):
    content, _ = default_content()
    with Store() as store:
        store.record_exercise_attempt(
            "causal_mask", "x", {"status": "fail", "passed": 1, "total": 5, "tests": []}
        )
        by_id = {s.item.id: s for s in checklist_status(store, content)}
        assert not by_id["p03"].done and by_id["p03"].missing
        store.record_exercise_attempt(
            "causal_mask", "x", {"status": "pass", "passed": 5, "total": 5, "tests": []}
        )
    items = _listing(capsys)
    assert items["p03"]["done"] and items["p03"]["source"] == "evidence"
    assert items["p03"]["evidence"] == ["exercise causal_mask passed"]
    # an explicit untick wins over evidence
    assert main(["checklist", "untick", "p03"]) == 0
    capsys.readouterr()
    assert _listing(capsys)["p03"]["done"] is False


def test_recalling_every_linked_question_ticks_a_theory_item(home, capsys):
    content, _ = default_content()
    item = next(i for i in content.checklist if i.group == "theory" and not i.exercises)
    with Store() as store:
        for qid in item.questions:
            store.record_question_attempt(qid, "my answer", [0, 1], 4, rating=3)
    assert _listing(capsys)[item.id]["done"] is True


def test_stats_counts_checklist_and_exercises(home, capsys):
    with Store() as store:
        store.record_exercise_attempt(
            "causal_mask", "x", {"status": "pass", "passed": 5, "total": 5, "tests": []}
        )
        store.set_tick("s01", True)
    assert main(["stats", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    # s01 by hand; p03 by the evidence of the passed causal_mask (t06 "implement a causal mask
    # and visualise it" also needs the mask figure seen and q20 recalled)
    assert stats["checklist"] == {"done": 2, "total": 21}
    assert stats["exercises"]["causal_mask"] == {"attempts": 1, "passed": True}
    assert stats["exercises"]["sinusoidal_pe"] == {"attempts": 0, "passed": False}
    assert set(stats["cards"]) >= {"total", "new", "due", "learning", "review"}
    assert isinstance(stats["reviews"], int)


def test_lang_works_before_and_after_the_action(home, capsys):
    assert main(["checklist", "tick", "t02", "--lang", "zh"]) == 0
    assert "能画出" in capsys.readouterr().out
    assert main(["checklist", "--lang", "zh", "untick", "t02"]) == 0
    assert "能画出" in capsys.readouterr().out


def test_evidence_means_what_the_item_says(home, capsys):
    """Passing sinusoidal_pe is not drawing its frequencies (t02) and passing flash_attention is not
    explaining IO-aware tiling (t08): a "draw"/"visualise" item needs its figure seen in the app,
    an "explain" item its question recalled."""
    from studytool.checklist import record_figure_seen

    content, _ = default_content()
    with Store() as store:
        for ex in ("sinusoidal_pe", "flash_attention"):
            store.record_exercise_attempt(ex, "x", {"status": "pass", "passed": 7, "total": 7, "tests": []})
        by_id = {s.item.id: s for s in checklist_status(store, content)}
        assert by_id["p01"].done  # "implement sinusoidal position encoding": the exercise says it
        t02 = by_id["t02"]
        assert not t02.done
        assert {(e.kind, e.id) for e in t02.missing} == {("figure", "pe"), ("question", "q14")}
        assert not by_id["t08"].done and [(e.kind, e.id) for e in by_id["t08"].missing] == [
            ("question", "q21")
        ]

        record_figure_seen(store, "pe")
        store.record_question_attempt("q14", "", [0, 1, 2], 3, rating=3)
        by_id = {s.item.id: s for s in checklist_status(store, content)}
        assert by_id["t02"].done and by_id["t02"].source == "evidence"
        rendered = [e.render("en") for e in by_id["t02"].evidence]
        assert "figure seen: the sinusoidal encoding's frequencies" in rendered
        assert "看过图：正弦位置编码的频率图" in [e.render("zh") for e in by_id["t02"].evidence]
        with pytest.raises(ValueError, match="unknown figure"):
            record_figure_seen(store, "nope")
