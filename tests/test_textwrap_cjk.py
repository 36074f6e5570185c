"""The one line-breaking function (studytool.textwrap_cjk), on the shipped Chinese content."""

from __future__ import annotations

import dataclasses

import pytest

from studytool.textwrap_cjk import CLOSING, OPENING, break_lines, cell_width, wrap


def _texts(obj, out: list[str]) -> None:
    from studytool.content import Text

    if isinstance(obj, Text):
        out.append(obj.zh)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            _texts(getattr(obj, f.name), out)
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            _texts(x, out)


@pytest.fixture(scope="module")
def chinese_texts() -> list[str]:
    from studytool.content import default_content

    content, _ = default_content()
    out: list[str] = []
    for group in (content.questions, content.insights, content.cards, content.checklist, content.exercises):
        _texts(group, out)
    for card in content.cards:  # as the screens show them
        out += [card.prompt("zh"), card.reveal("zh")]
    for ex in content.exercises:
        out.append(ex.prompt("zh"))
    out = [t for t in out if any("\u4e00" <= c <= "\u9fff" for c in t)]
    assert len(out) > 300  # questions, insights, 105 cards, checklist, exercises
    return out


def _check(text: str, width: int, next_width: int | None = None) -> None:
    lines = break_lines(text, width, next_width)
    assert "".join(lines) == text, (width, text)
    shown = wrap(text, width, next_width)
    assert len(shown) == len(lines)
    for k, line in enumerate(shown):
        limit = width if k == 0 or next_width is None else next_width
        # a line that follows a hard break has the full width again
        if k and lines[k - 1].endswith("\n"):
            limit = width
        assert cell_width(line) <= limit, (width, line)
        if line and k and not lines[k - 1].endswith("\n"):
            assert line[0] not in CLOSING, (width, lines[k - 1], line)
        if line and k + 1 < len(lines) and not lines[k].endswith("\n"):
            assert line.rstrip()[-1:] not in OPENING, (width, line, lines[k + 1])


def test_shipped_chinese_wraps_by_the_rules_at_widths_30_to_80(chinese_texts):
    for width in range(30, 81):
        for text in chinese_texts:
            _check(text, width)


def test_hanging_indent_widths(chinese_texts):
    for text in chinese_texts[:80]:
        _check(text, 40, 34)


def test_cjk_breaks_anywhere_and_fills_lines():
    text = "把 Q、K、V 三个矩阵分别投影到多个子空间，每个头独立计算注意力。"
    lines = wrap(text, 20)
    # "Q、K、V" no longer pushes the rest to a half-empty line
    assert all(cell_width(ln) >= 16 for ln in lines[:-1]), lines
    assert "".join(break_lines(text, 20)) == text


def test_no_line_starts_with_closing_or_ends_with_opening():
    # width 10 = five CJK characters: a plain break would put "。" / "，" first on a line
    text = "一二三四五。六七八九十，一二三四（五六七八九十）"
    for width in range(4, 20):
        _check(text, width)
    assert wrap("一二三四五。六七", 10) == ["一二三四", "五。六七"]
    assert wrap("一二三四（五六七", 10) == ["一二三四", "（五六七"]


def test_latin_words_and_formulas_stay_whole():
    text = "注意力的核心公式是 softmax(QK^T/√d_k)V，其中缩放因子防止梯度消失。"
    for width in range(22, 60):
        for line in wrap(text, width):
            assert "softmax(QK^T/√d_k)V" in line or "softmax" not in line, (width, line)
    # longer than the line: split by characters, nothing lost
    long = "一个很长的标识符 " + "x" * 50 + " 结束"
    _check(long, 20)
    assert max(cell_width(ln) for ln in wrap(long, 20)) <= 20


def test_english_breaks_at_spaces_and_keeps_newlines():
    text = "The quick brown fox jumps over the lazy dog.\n\nA second paragraph."
    assert wrap(text, 16) == [
        "The quick brown",
        "fox jumps over",
        "the lazy dog.",
        "",
        "A second",
        "paragraph.",
    ]
    assert "".join(break_lines(text, 16)) == text
    assert "8. 位置编码" in wrap("8. 位置编码让模型知道顺序", 30)[0]


def test_widths_match_the_terminal():
    assert cell_width("中文") == 4
    assert cell_width("ab") == 2
    assert cell_width("，") == 2
    assert cell_width("e\u0301") == 1  # a combining accent takes no cell


# --------------------------------------------------------------------------- issue 16 §3: line breaking


def _fits_more(lines: list[str], width: int, words=()) -> list[tuple[str, str]]:
    """Soft breaks where the next line's first unit would still have fitted on the line before
    (a half-empty line). Breaks inside an over-wide unit are not counted."""
    from studytool.textwrap_cjk import _prepared

    out = []
    for a, b in zip(lines, lines[1:]):
        if a.endswith("\n") or not b.strip():
            continue
        first = _prepared(b.rstrip("\n")[:64], tuple(words))[0]
        if first.shown > width:
            continue
        if cell_width(a.rstrip(" \t")) + (cell_width(a) - cell_width(a.rstrip(" \t"))) + first.shown <= width:
            out.append((a, b))
    return out


def test_no_half_empty_line_before_a_chinese_run(chinese_texts):
    """A Chinese run after an ASCII word or a quote starts on the same line when it fits there:
    every soft break is forced (the next unit does not fit)."""
    for width in (30, 41, 57, 80):
        for text in chinese_texts:
            assert _fits_more(break_lines(text, width), width) == [], (width, text[:60])
    # the walkthrough's lines (palette, pass toast)
    for text in (
        "清单 s02：能分析不同场景下的优化选择（KV 缓存、FlashAttention、线性注意力、归一化位置）",
        "已勾选清单：p01 “实现正弦位置编码”；t02 “能画出正弦位置编码的多尺度频率”",
    ):
        for width in range(20, 81):
            assert _fits_more(break_lines(text, width), width) == [], (width, text)
    assert wrap("已勾选清单：p01 “实现正弦位置编码”；t02", 40) == ["已勾选清单：p01 “实现正弦位置编码”；t02"]


def test_paths_are_not_split_mid_name():
    text = "内容有问题：/tmp/home/studytool/decks/broken.yaml:15: duplicate id"
    # a path that fits a line moves to it whole
    assert "/tmp/home/studytool/decks/broken.yaml:15:" in wrap(text, 44)
    # a path wider than the line breaks after a separator, never inside a name
    for width in range(16, 44):
        pieces = break_lines(text, width)
        for a, b in zip(pieces, pieces[1:]):
            if not a.endswith(" ") and b[:1].isalnum():  # a break inside the path
                assert a[-1] in "/:._-", (width, pieces)
    assert wrap(text, 40) == ["内容有问题：/tmp/home/studytool/decks/", "broken.yaml:15: duplicate id"]
    # a run with no separator still fits by characters
    assert max(cell_width(x) for x in wrap("a" * 70, 20)) == 20


def test_a_short_quoted_chinese_phrase_stays_whole():
    text = "Today and the checklist split the quoted Chinese, “你爱我” example"
    for width in range(8, 70):
        assert any("“你爱我”" in ln for ln in wrap(text, width)), width
    _check(text, 12)


@pytest.mark.parametrize(
    "label, words",
    [
        ("Q14 正弦 vs 可学习位置编码", ["可学习", "位置编码"]),
        ("降低 O(n²) 开销：线性注意力及其他路线", ["线性注意力", "其他", "路线"]),
        ("为什么 Transformer 能并行训练", ["并行", "训练"]),
    ],
)
def test_a_short_label_is_not_broken_mid_word(label, words):
    from studytool.textwrap_cjk import wrap_label

    for width in range(8, 30):
        lines = wrap_label(label, width)
        assert "".join(lines).replace(" ", "") == label.replace(" ", ""), (width, lines)
        assert all(cell_width(x) <= width for x in lines if not any(len(w) * 2 > width for w in words))
        for a, b in zip(lines, lines[1:]):
            for w in words:
                if len(w) * 2 <= width:  # a word that fits a line is never cut
                    for k in range(1, len(w)):
                        assert not (a.endswith(w[:k]) and b.startswith(w[k:])), (width, w, lines)
    # prose still breaks between any two Chinese characters (lines stay full)
    assert cell_width(wrap("把 Q、K、V 三个矩阵分别投影到多个子空间，每个头独立计算注意力。", 21)[0]) == 21


def test_labels_wrap_by_the_rules(chinese_texts):
    from studytool.textwrap_cjk import LABEL_WORDS

    for text in chinese_texts[:120]:
        for width in (12, 29, 40):
            lines = break_lines(text, width, words=LABEL_WORDS)
            assert "".join(lines) == text
            for line in wrap(text, width, words=LABEL_WORDS):
                assert cell_width(line) <= width or any(len(w) * 2 > width for w in LABEL_WORDS), line
