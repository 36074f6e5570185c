"""`studytool review --plain`: driven through `studytool.cli.main` and once through a real pipe."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import fsrs
import pytest

from studytool import srs as sch
from studytool.cli import main
from studytool.content import Card, Content, Question, Text
from studytool.store import Store


def _t(en: str, zh: str | None = None) -> Text:
    return Text(en, zh or en + "（中）")


def content() -> Content:
    cards = [
        Card(
            id="resid-cloze",
            type="cloze",
            topic="architecture",
            deck="t",
            text=_t("dL/dx = dL/dy·(dF/dx + {{1}})", "dL/dx = dL/dy·(dF/dx + {{1}})"),
            extra=_t("the identity path"),
        ),
        Card(
            id="flash-tf",
            type="truefalse",
            topic="efficiency",
            deck="t",
            statement=_t("FlashAttention trades memory for time."),
            answer=False,
            explanation=_t("It trades extra compute for memory."),
        ),
        Card(
            id="pe-basic",
            type="basic",
            topic="position-encoding",
            deck="t",
            front=_t("Why position encoding?"),
            back=_t("Attention is order-blind."),
        ),
    ]
    questions = [
        Question(
            id="q13",
            number=13,
            topic="parallelism-future",
            title=_t("PE"),
            question=_t("Why does a Transformer need position encoding?"),
            answer=_t("Self-attention is permutation-equivariant."),
            key_points=(_t("order-blind"), _t("bag of tokens"), _t("inject order"), _t("我爱你 vs 你爱我")),
        )
    ]
    return Content(questions=questions, cards=cards)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYTOOL_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def run(home, monkeypatch, capsys):
    monkeypatch.setattr("studytool.cli.review._content", content)

    def go(keys: str, *args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(keys))
        code = main(["review", "--plain", "--lang", "en", *args])
        out, err = capsys.readouterr()
        return code, out, err

    return go


def logs(home) -> list[tuple[str, int]]:
    with Store(home / "progress.sqlite3") as store:
        return [
            (r[0], r[1]) for r in store.conn.execute("SELECT item_id, rating FROM review_log ORDER BY id")
        ]


def test_two_ratings_good_then_again(run, home):
    code, out, _ = run("\n3\n\n1\n", "--limit", "2")
    assert code == 0
    rated = logs(home)
    assert [r for _, r in rated] == [3, 1]
    assert "→ Good" in out and "→ Again" in out
    assert "Stopped after 2 reviews, as --limit asked." in out
    assert "Today: 2 reviews of 2 cards (again 1, new 2) in " in out
    assert "Ratings: Again 1, Hard 0, Good 1, Easy 0." in out
    assert out.strip().splitlines()[-1] == "What next: carry on reviewing (studytool review --plain)."


def test_intervals_are_shown_before_rating_and_applied(run, home):
    code, out, _ = run("\n4\n", "--limit", "1", "--topic", "architecture")
    line = next(x for x in out.splitlines() if x.startswith("Rate:"))
    assert "1 Again 1m" in line and "3 Good 10m" in line
    easy = line.split("4 Easy ")[1].split()[0]
    assert f"→ Easy: {easy}" in out
    with Store(home / "progress.sqlite3") as store:
        assert sch.load_state(store, "resid-cloze").card.state == fsrs.State.Review


def test_cloze_hides_the_deletion_until_the_reveal(run):
    code, out, _ = run("\n3\n", "--limit", "1", "--topic", "architecture")
    front, back = out.split("Enter to reveal", 1)
    assert "{{" not in front and "+ 1)" not in front and "[…]" in front
    assert "[1]" in back and "the identity path" in back


def test_truefalse_asks_the_verdict_first_and_suggests(run, home):
    code, out, _ = run("t\n\n", "--limit", "1", "--topic", "efficiency")
    assert "True or false?" in out
    assert out.index("True or false?") < out.index("It trades extra compute")
    assert "✗ Not quite: you said true." in out and "Enter: Again (suggested)" in out
    assert "Answer: false. It trades extra compute for memory." in out
    assert logs(home) == [("flash-tf", 1)]


def test_truefalse_rating_keys_work_without_a_verdict(run, home):
    code, out, _ = run("\n4\n", "--limit", "1", "--topic", "efficiency")
    assert logs(home) == [("flash-tf", 4)]


def test_question_typed_answer_and_key_points(run, home):
    code, out, _ = run(
        "attention ignores order\nk 1 2 4\n\n", "--limit", "1", "--topic", "parallelism-future"
    )
    assert "Key points:" in out and "4. 我爱你 vs 你爱我" in out
    assert "Recalled 3/4 key points: suggests 2 Hard." in out
    with Store(home / "progress.sqlite3") as store:
        (att,) = store.question_attempts("q13")
    assert (att.answer_text, att.recalled, att.total_points, att.rating) == (
        "attention ignores order",
        [0, 1, 3],
        4,
        2,
    )


def test_question_rating_keys_work_right_after_the_reveal(run, home):
    code, out, _ = run("\n3\n", "--limit", "1", "--topic", "parallelism-future")
    assert logs(home) == [("q13", 3)]


def test_undo_suspend_bury_and_quit(run, home):
    code, out, _ = run("\n3\nu\n\n1\ns\nb\nq\n")
    out = out.replace("\n", " ")  # lines wrapped at 80 columns
    assert "Undone: " in out
    assert len(logs(home)) == 1 and logs(home)[0][1] == 1
    assert "Suspended: " in out and "Buried until tomorrow: " in out
    done = out[out.index("This session: ") :].split(").")[0]
    assert "1 undone" in done and "1 suspended" in done and "1 buried" in done
    assert "Session stopped." in out
    code = main(["unsuspend"])
    assert code == 0


def test_cram_writes_nothing(run, home):
    run("\n3\n", "--limit", "1")
    before = logs(home)
    code, out, _ = run("\n1\n\n3\n", "--cram", "--limit", "2")
    assert code == 0 and "cram" in out
    assert "Crammed 2 reviews (again 1) in " in out and "the schedule was not changed" in out
    assert "1 Again  2 Hard  3 Good  4 Easy — no change (cram)" in out
    assert logs(home) == before


def test_end_of_input_ends_with_a_summary(run, home):
    code, out, _ = run("")
    assert code == 0 and "Session stopped." in out and "Still waiting: 4 new" in out


def test_usage_errors(run, home, capsys):
    assert run("", "--topic", "nope")[0] == 2
    assert run("", "--limit", "0")[0] == 2
    (home / "config.toml").write_text("new_per_day = 'many'\n", encoding="utf-8")
    code, _, err = run("")
    assert code == 2 and f"{home / 'config.toml'}:1: new_per_day" in err


def test_real_pipe_through_the_installed_command(home):
    env = {**os.environ, "STUDYTOOL_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-m", "studytool", "review", "--plain", "--limit", "2"],
        input="\n3\n\n1\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert [r for _, r in logs(home)] == [3, 1]
    assert "Today: 2 reviews of 2 cards (again 1, new 2)" in proc.stdout


def test_cli_module_does_not_import_torch_or_textual():
    code = (
        "import sys, studytool.cli.review, studytool.review, studytool.scheduler; "
        "bad = {'torch', 'textual'} & set(sys.modules); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_undo_with_nothing_to_undo_asks_again_instead_of_revealing(run, home):
    # "u" at the front of the first item changes nothing: the same prompt comes back, the key is
    # not taken as the typed answer, and the next Enter reveals
    code, out, _ = run("u\n\n3\n", "--topic", "parallelism-future", "--limit", "1")
    assert code == 0
    assert "Nothing to undo in this session." in out
    assert out.count("Type your answer (optional), Enter to reveal >") == 2
    assert "Your answer: u" not in out
    assert [r for _, r in logs(home)] == [3]
    with Store(home / "progress.sqlite3") as store:
        assert [a.answer_text for a in store.question_attempts("q13")] == [""]


def content_zh() -> Content:
    """content(), with Chinese texts that hold no Latin letters at all."""

    def zh(text: Text) -> Text:
        return Text(text.en, "中文" + str(abs(hash(text.en)) % 1000))

    c = content()
    cards = [
        Card(
            id=k.id,
            type=k.type,
            topic=k.topic,
            deck=k.deck,
            text=zh(k.text) if k.text else None,
            extra=zh(k.extra) if k.extra else None,
            statement=zh(k.statement) if k.statement else None,
            answer=k.answer,
            explanation=zh(k.explanation) if k.explanation else None,
            front=zh(k.front) if k.front else None,
            back=zh(k.back) if k.back else None,
        )
        for k in c.cards
    ]
    q = c.questions[0]
    questions = [
        Question(
            id=q.id,
            number=q.number,
            topic=q.topic,
            title=zh(q.title),
            question=zh(q.question),
            answer=zh(q.answer),
            key_points=tuple(zh(k) for k in q.key_points),
        )
    ]
    return Content(questions=questions, cards=cards)


def test_lang_zh_speaks_chinese_throughout(run, home, monkeypatch, capsys):
    # the interface's own words (prompts, rating names, intervals, status lines, the summary) are
    # Chinese; so is this content's Chinese text: no English word may be left on any line
    monkeypatch.setattr("studytool.cli.review._content", content_zh)

    def go(keys: str, *args: str) -> str:
        monkeypatch.setattr(sys, "stdin", io.StringIO(keys))
        assert main(["review", "--plain", "--lang", "zh", *args]) == 0
        return capsys.readouterr().out

    out = go("\n1\nb\nu\n\nx\n3\n", "--limit", "2")
    out += go("\nk 1 2 3\n\n", "--topic", "parallelism-future", "--limit", "1")
    out += go("\n3\n", "--cram", "--limit", "1")
    out += go("\n")  # stopped at the front
    for word in (
        "Again",
        "Hard",
        "Good",
        "Easy",
        "Rate",
        "Reviewed",
        "Enter",
        "Keys",
        "due",
        "Undone",
        "Buried",
        "Session",
        "What next",
        "new",
        "learning",
        "cram",
    ):
        assert word not in out, word
    assert "评分：1 重来 1分钟  2 困难 6分钟  3 良好 10分钟" in out
    assert "→ 重来：1分钟" in out and "已撤销：" in out and "已搁置到明天：" in out
    assert "今天：复习 3 次" in out and "评分：重来 1 次" in out and "突击复习 1 次" in out
    assert "按键：1 重来，2 困难，3 良好，4 简单" in out
    assert "回忆起 3/4 个要点：建议 2 困难。" in out
    assert "还在等待：新卡片" in out
    for line in out.splitlines():  # item ids and command names stay as they are typed
        rest = re.sub(r"studytool \w+|--\w+|resid-cloze|flash-tf|pe-basic|q13|k all|k none", "", line)
        assert not re.search(r"[A-Za-z]{2,}", rest), line


def test_unsuspend_lists_suspended_and_buried_items_with_titles_and_restores_them(run, home, capsys):
    run("s\nb\nq\n")  # suspend the first item, bury the second
    assert main(["unsuspend"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("resid-cloze  suspended  dL/dx = dL/dy·(dF/dx + […])")
    assert out[1].startswith("flash-tf  buried  FlashAttention trades memory for time.")
    assert out[2] == "1 suspended, 1 buried (studytool unsuspend ID... or --all)"
    assert main(["unsuspend", "--lang", "zh"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("暂停 1 张，搁置 1 张")
    assert main(["unsuspend", "--all"]) == 0
    restored = capsys.readouterr().out
    assert "flash-tf: Back in review: FlashAttention trades memory for time. comes up today" in restored
    with Store(home / "progress.sqlite3") as store:
        assert sch.held_items(store, content()) == []


LONG = (
    "Scaled dot products between queries and keys grow with the dimension, so the softmax "
    "saturates unless the logits are divided by the square root of d_k (unmasked positions)."
)


def test_text_is_wrapped_at_word_boundaries_to_the_terminal_width(home, monkeypatch, capsys):
    """The walkthrough: `dot products b` / `etween`, `(unma` / `sked)`."""
    card = Card(
        id="long-basic",
        type="basic",
        topic="architecture",
        deck="t",
        front=Text(
            LONG,
            "缩放点积随维度增大而变大，因此除非把逻辑值除以 d_k 的平方根，"
            "否则 softmax 会饱和（未被掩码的位置）。",
        ),
        back=Text("Because variance grows with d_k.", "因为方差随 d_k 增大。"),
    )
    monkeypatch.setattr("studytool.cli.review._content", lambda: Content(cards=[card]))
    monkeypatch.setenv("COLUMNS", "40")
    for lang in ("en", "zh"):
        monkeypatch.setattr(sys, "stdin", io.StringIO("q\n"))
        assert main(["review", "--plain", "--lang", lang]) == 0
        out = capsys.readouterr().out
        from studytool.textwrap_cjk import cell_width

        text_lines = [x for x in out.splitlines() if not x.startswith("──") and not x.endswith(">")]
        assert all(cell_width(x) <= 40 for x in text_lines), [x for x in text_lines if cell_width(x) > 40]
        if lang == "en":
            words = set(LONG.split())
            body = [x for x in text_lines if x and x.split()[0] in words]
            assert len(body) >= 4
            assert all(w in words for x in body for w in x.split()), body  # no word cut in two
            assert " ".join(body) == LONG


def test_nothing_due_is_not_called_a_stopped_session(home, monkeypatch, capsys):
    monkeypatch.setattr("studytool.cli.review._content", lambda: Content())
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["review", "--plain", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Nothing is due right now." in out and "Session stopped." not in out
