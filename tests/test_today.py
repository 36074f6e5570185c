"""Today: the counts and next steps that both `studytool today` and the app's Today section show."""

from __future__ import annotations

import json

from studytool import scheduler
from studytool.cli import main
from studytool.content import default_content
from studytool.store import Store
from studytool.today import today


def test_a_new_learner_is_told_to_review_start_the_first_exercise_and_tick_t01():
    content, _ = default_content()
    with Store() as store:
        day = today(store, content)
    assert [s.kind for s in day.next_steps] == ["review", "exercise", "checklist"]
    review, exercise, item = day.next_steps
    assert review.due == 0 and review.new == day.new_today == 20
    assert exercise.item_id == "sinusoidal_pe" and exercise.best is None
    assert item.item_id == "t01"
    assert sum(t.total for t in day.topics) == len(content.questions) + len(content.cards)
    assert all(t.studied == 0 for t in day.topics)


def test_a_failing_exercise_comes_before_a_fresh_one_and_evidence_moves_the_checklist():
    content, _ = default_content()
    with Store() as store:
        store.record_exercise_attempt(
            "sinusoidal_pe", "x", {"status": "pass", "passed": 7, "total": 7, "tests": []}
        )
        store.record_exercise_attempt("alibi", "x", {"status": "fail", "passed": 3, "total": 7, "tests": []})
        day = today(store, content)
    exercise = next(s for s in day.next_steps if s.kind == "exercise")
    assert exercise.item_id == "alibi" and exercise.best == {"passed": 3, "total": 7}
    # p01 by evidence; t02 ("draw the multi-scale frequencies") needs the figure seen too
    assert day.exercises_passed == 1 and day.checklist_done == 1


def test_suspended_items_are_not_offered_as_new():
    content, _ = default_content()
    items = scheduler.review_items(content)
    with Store() as store:
        for it in items[:30]:
            scheduler.suspend(store, it.id, it.kind)
        day = today(store, content)
    assert day.new_today == 20  # still a full day's worth, from the items not suspended
    with Store() as store:
        for it in items[30:]:
            scheduler.suspend(store, it.id, it.kind)
        day = today(store, content)
    assert day.new_today == 0
    assert [s.kind for s in day.next_steps][0] != "review"


def test_cli_today_json_and_text(capsys):
    assert main(["today", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["new_today"] == 20 and doc["checklist"] == {"done": 0, "total": 21}
    assert [n["kind"] for n in doc["next"]] == ["review", "exercise", "checklist"]
    assert main(["today"]) == 0
    out = capsys.readouterr().out
    assert "studytool start sinusoidal_pe" in " ".join(out.split()) and "t01" in out


def test_lang_zh_output_of_today_stats_and_checklist_is_chinese(capsys):
    from studytool.content import default_content as dc

    content, _ = dc()
    with Store() as store:  # some history: a rating, a passed exercise, a tick
        scheduler.rate(store, scheduler.review_items(content)[0], 3)
        store.record_exercise_attempt(
            "sinusoidal_pe", "x", {"status": "pass", "passed": 7, "total": 7, "tests": []}
        )
    english = (
        "Due now",
        "new today",
        "streak",
        "reviewed today",
        "retention",
        "Exercises",
        "checklist",
        "Next",
        "review:",
        "start exercise",
        "fix exercise",
        "Items",
        "Reviews",
        "Today",
        "True retention",
        "Streak",
        "Due in",
        "passed",
        "done",
        "ticked",
        "Theory",
        "Programming",
        "Systems",
        "recalled",
    )
    outs = []
    for argv in (
        ["today", "--lang", "zh"],
        ["stats", "--lang", "zh"],
        ["checklist", "--lang", "zh"],
        ["checklist", "tick", "t02", "--lang", "zh"],
    ):
        assert main(argv) == 0, argv
        outs.append(capsys.readouterr().out)
    out = "\n".join(outs)
    for word in english:
        assert word not in out, word
    assert (
        "待复习 " in out
        and "今日新卡片 " in out
        and "下一步：" in out
        and "连续学习" in out
        and "已勾选 t02：" in out
    )
    assert "练习 sinusoidal_pe 已通过" in out and "理论" in out


def test_today_json_keeps_its_keys_and_adds_the_three_counts(capsys):
    assert main(["today", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {
        "due",
        "new_today",
        "streak_days",
        "reviews_today",
        "topics",
        "exercises",
        "checklist",
        "next",
    } <= set(doc)
    assert doc["counts"] == {"new": 20, "learning": 0, "review": 0} and doc["due"] == 0
