"""`studytool questions [ID]`: the Questions section on the command line."""

from __future__ import annotations

from studytool.cli import main
from studytool.content import default_content


def test_lists_the_twelve_questions_by_topic(capsys):
    assert main(["questions"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines() if line.startswith("  q")] == [
        f"q{n}" for n in range(13, 25)
    ]
    assert "Position encoding" in out and "Parallelism & future" in out


def test_one_question_with_answer_key_points_and_misconception_checks(capsys):
    content, _ = default_content()
    q20 = content.question("q20")
    checks = content.misconception_checks(q20)
    # the question's own misconceptions first (always false), then its linked true/false cards
    assert [c.card_id for c in checks[: len(q20.misconceptions)]] == [None] * len(q20.misconceptions)
    assert all(not c.true for c in checks[: len(q20.misconceptions)])
    assert all(content.item(c.card_id).type == "truefalse" for c in checks[len(q20.misconceptions) :])
    assert main(["questions", "20"]) == 0
    out = capsys.readouterr().out
    assert q20.answer.en.splitlines()[0] in out
    assert out.count("[False]") + out.count("[True]") == len(checks)
    assert "BERT" in out
    assert main(["questions", "q20", "--lang", "zh"]) == 0
    assert q20.question.zh in capsys.readouterr().out


def test_unknown_question_is_a_usage_error(capsys):
    assert main(["questions", "q99"]) == 2
    assert "unknown question 'q99'" in capsys.readouterr().err
