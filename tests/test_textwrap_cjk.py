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
