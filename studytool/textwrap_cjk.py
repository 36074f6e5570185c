"""Line breaking for text that mixes Chinese with Latin words and formulas.

One function for every screen (the TUI renders the lines it returns; see
``studytool.tui.wrapping``). Pure Python, no third-party imports.

The rules (a small subset of UAX #14 and the Chinese typesetting rules, 禁则):

* CJK (wide) characters may break between any two of them — except inside a *word* of the
  ``words`` given (a label's terms: ``位置编码``, ``注意力``; see :data:`LABEL_WORDS`) and inside a
  short quoted phrase (``“你爱我”``), which stay whole when they fit on a line;
* a Latin word or a formula (a run of non-wide, non-space characters such as ``softmax(QK^T/√d)``)
  stays whole, unless it is wider than the line: then a path or an identifier is broken after a
  separator (``/``, ``.``, ``_``, ``-``, ``:`` …), never mid-name when a separator allows it, and
  only a run with no separator is split by characters;
* spaces are break opportunities and hang at the end of the line (not counted in its width);
* no line starts with closing punctuation (。，、；：？！）」』》… and their ASCII/fullwidth
  equivalents) and no line ends with opening punctuation (（「『《“‘ …) — unless a single unit is
  wider than the line and there is no other way;
* ``\\n`` is a hard break.

Cell widths come from :func:`unicodedata.east_asian_width` (W and F are two cells, combining
marks and control characters none, everything else one) — the same widths a terminal uses.

``break_lines`` keeps every character: ``"".join(break_lines(t, w)) == t``. ``wrap`` is the
display form: the same lines without the hanging spaces and the newline. ``wrap_label`` wraps a
short label (a list item, a title) keeping the words of :data:`LABEL_WORDS` whole.

A paragraph is cut into units once (cached) and each width only walks the units with their
widths, so wrapping the same text at many widths (a resize) costs little.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "cell_width",
    "char_width",
    "break_lines",
    "wrap",
    "wrap_label",
    "CLOSING",
    "OPENING",
    "LABEL_WORDS",
]

# may not start a line
CLOSING = frozenset(
    "。，、；：？！）」』》〉】〕〗〙〛｝］〞’”…‥・·〜～—"
    ".,;:?!)]}%"
    "．，；：？！）］｝｠％"
    "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶー々〻"
)
# may not end a line
OPENING = frozenset("（「『《〈【〔〖〘〚｛［〝‘“([{（［｛｟＄$£¥￥")

# quote pairs whose short Chinese content stays on one line
_QUOTES = {"“": "”", "「": "」", "『": "』", "《": "》", "‘": "’"}
_SHORT_QUOTE = 8  # characters inside the quotes

# where an over-wide Latin run (a path, an identifier) may be broken: after one of these
_SEPARATORS = frozenset("/\\._-:,;=&?#@|+")

_SPACES = frozenset(" \t")

# Terms a short label must not be broken inside (the study content's own words; the glossary's
# preferred terms are added by the callers that have it, e.g. studytool.rules.label_words()).
LABEL_WORDS: tuple[str, ...] = (
    "位置编码",
    "正弦位置编码",
    "可学习",
    "注意力",
    "线性注意力",
    "自注意力",
    "因果掩码",
    "掩码",
    "残差连接",
    "残差通路",
    "归一化",
    "并行",
    "训练",
    "推理",
    "解码",
    "解码器",
    "编码器",
    "缓存",
    "预填充",
    "外推",
    "前馈网络",
    "持续学习",
    "灾难性遗忘",
    "复杂度",
    "开销",
    "内存",
    "梯度",
    "预热",
    "模型",
    "架构",
    "未来",
    "方向",
    "为什么",
    "什么",
    "需要",
    "实现",
    "对比",
    "相加",
    "拼接",
    "旋转",
    "偏置",
    "斜率",
    "分块",
    "矩阵",
    "序列",
    "长度",
    "计算",
    "经纬度",
    "教师强制",
    "暴露偏差",
    "洞察",
    "问题",
    "练习",
    "清单",
    "卡片",
    "复习",
    "新卡片",
    "学习中",
    "待复习",
    "统计",
    "实验",
    "其他",
    "路线",
    "之间",
    "区别",
    "作用",
    "原因",
    "方法",
    "代价",
    "关系",
    "信息",
    "顺序",
    "能力",
    "数据",
)


@lru_cache(maxsize=4096)
def char_width(ch: str) -> int:
    """Terminal cells of one character."""
    if ch in _SPACES:
        return 1
    cat = unicodedata.category(ch)
    if cat in ("Mn", "Me", "Cf") or (cat == "Cc"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cell_width(text: str) -> int:
    if text.isascii() and text.isprintable():
        return len(text)  # one cell each (the common case, and the cheap one)
    return sum(map(char_width, text))


@lru_cache(maxsize=4096)
def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _shown(s: str) -> int:
    """The width of a piece without its hanging spaces."""
    return cell_width(s.rstrip(" \t"))


class _Atom:
    """A unit never broken inside if it fits: its text, its width without and with the spaces
    that hang after it, and whether it is a Latin run (which may break at separators)."""

    __slots__ = ("text", "shown", "full", "latin")

    def __init__(self, text: str, latin: bool = False) -> None:
        self.text = text
        self.full = cell_width(text)
        self.shown = self.full - (len(text) - len(text.rstrip(" \t")))
        self.latin = latin


def _word_at(para: str, i: int, words: tuple[str, ...]) -> int:
    """The length of the longest word of ``words`` at ``para[i:]`` (0 when none)."""
    best = 0
    for w in words:
        if len(w) > best and para.startswith(w, i):
            best = len(w)
    return best


def _atoms(para: str, words: tuple[str, ...]) -> list[_Atom]:
    """Split a paragraph (no newline) into units that are never broken inside (if they fit):
    one wide character, a word of ``words``, a short quoted Chinese phrase, or a run of non-wide
    non-space characters; trailing spaces hang on the unit before them (leading spaces form their
    own unit)."""
    atoms: list[list] = []  # [text, latin]
    i, n = 0, len(para)
    while i < n:
        ch = para[i]
        if ch in _SPACES:
            j = i
            while j < n and para[j] in _SPACES:
                j += 1
            if atoms:
                atoms[-1][0] += para[i:j]
            else:
                atoms.append([para[i:j], False])
            i = j
            continue
        latin = False
        close = _QUOTES.get(ch)
        end = para.find(close, i + 1, i + 2 + _SHORT_QUOTE) if close else -1
        if end > i + 1 and all(_is_wide(c) for c in para[i + 1 : end]):
            j = end + 1  # “你爱我” stays together
        elif _is_wide(ch):
            j = i + (_word_at(para, i, words) or 1)
        else:
            j = i
            while j < n and para[j] not in _SPACES and not _is_wide(para[j]):
                j += 1
            latin = True
        # combining marks belong to the character before them
        while j < n and char_width(para[j]) == 0 and para[j] not in _SPACES:
            j += 1
        atoms.append([para[i:j], latin])
        i = j
    return [_Atom(t, latin) for t, latin in atoms]


def _glued(prev: str, nxt: str) -> bool:
    """No break allowed between two atoms."""
    if prev and prev[-1] not in _SPACES and prev[-1] in OPENING:
        return True
    return bool(nxt) and nxt[0] in CLOSING


class _Seg:
    """Atoms with no break opportunity between them."""

    __slots__ = ("atoms", "text", "shown", "full")

    def __init__(self, atoms: list[_Atom]) -> None:
        self.atoms = atoms
        self.text = "".join(a.text for a in atoms)
        self.full = sum(a.full for a in atoms)
        self.shown = self.full - sum(1 for _ in self.text[len(self.text.rstrip(" \t")) :])


@lru_cache(maxsize=1024)
def _prepared(para: str, words: tuple[str, ...]) -> tuple[_Seg, ...]:
    segs: list[list[_Atom]] = []
    for a in _atoms(para, words):
        if segs and _glued(segs[-1][-1].text, a.text):
            segs[-1].append(a)
        else:
            segs.append([a])
    return tuple(_Seg(s) for s in segs)


def _pieces(atom: _Atom) -> list[_Atom]:
    """An over-wide Latin run cut after its separators (a path after each ``/``)."""
    out, start, t = [], 0, atom.text
    for k, ch in enumerate(t):
        if ch in _SEPARATORS and 0 < k + 1 < len(t.rstrip(" \t")):
            out.append(_Atom(t[start : k + 1], True))
            start = k + 1
    out.append(_Atom(t[start:], True))
    return out


def _break_para(para: str, width: int, next_width: int, words: tuple[str, ...]) -> list[str]:
    lines: list[str] = []
    cur = ""
    cur_w = 0  # width of cur, hanging spaces included
    limit = width

    def flush() -> None:
        nonlocal cur, cur_w, limit
        lines.append(cur)
        cur, cur_w, limit = "", 0, next_width

    def place(atoms: list[_Atom]) -> None:
        """Put atoms one by one: on this line if they fit, else on the next if they fit a whole
        line, else (a Latin run) cut at its separators, else split by characters."""
        nonlocal cur, cur_w
        for atom in atoms:
            if cur_w + atom.shown <= limit:
                cur += atom.text
                cur_w += atom.full
                continue
            opened = cur.rstrip(" \t") == cur and cur[-1:] in OPENING
            if cur and atom.shown <= next_width and not opened and atom.text[0] not in CLOSING:
                flush()
                cur, cur_w = atom.text, atom.full
                continue
            if atom.latin and atom.shown > next_width:
                parts = _pieces(atom)
                if len(parts) > 1:
                    place(parts)
                    continue
            for ch in atom.text:
                w = char_width(ch)
                if cur and ch not in _SPACES and _shown(cur) + w > limit:
                    k = _split_point(cur, ch)
                    carry, cur = cur[k:], cur[:k]
                    flush()
                    cur, cur_w = carry, cell_width(carry)
                cur += ch
                cur_w += w

    for seg in _prepared(para, words):
        if cur_w + seg.shown <= limit:
            cur += seg.text
            cur_w += seg.full
            continue
        if cur and seg.shown <= next_width:
            flush()
            cur, cur_w = seg.text, seg.full
            continue
        # the segment is wider than a whole line: break between its atoms, then inside them
        place(seg.atoms)
    lines.append(cur)
    return _mend(lines, width, next_width)


def _split_point(cur: str, nxt: str) -> int:
    """Where to end a full line ``cur`` when ``nxt`` comes next: as late as possible, but not
    before a closing mark nor after an opening one (the rest of ``cur`` moves to the next line)."""
    k = len(cur)
    while k > 0 and ((cur[k:] or nxt)[0] in CLOSING or cur[k - 1] in OPENING):
        k -= 1
    if k == 0 or cur[k - 1] in _SPACES and cur[:k].strip(" \t") == "":
        return len(cur)
    return k


def _mend(lines: list[str], width: int, next_width: int) -> list[str]:
    """Where a unit had to be split, move one character across the break so that no line starts
    with a closing mark or ends with an opening one (when the line it moves to has room)."""
    for i in range(len(lines) - 1):
        a, b = lines[i], lines[i + 1]
        lim_a = width if i == 0 else next_width
        if b and b[0] in CLOSING and a.rstrip(" \t") == a:
            if _shown(a + b[0]) <= lim_a:
                lines[i], lines[i + 1] = a + b[0], b[1:]
            elif len(a) > 1 and _shown(a[-1] + b) <= next_width:
                lines[i], lines[i + 1] = a[:-1], a[-1] + b
        a, b = lines[i], lines[i + 1]
        if a and a[-1] in OPENING and _shown(a[-1] + b) <= next_width and len(a) > 1:
            lines[i], lines[i + 1] = a[:-1], a[-1] + b
    return [ln for ln in lines if ln] or [""]


def break_lines(text: str, width: int, next_width: int | None = None, words: Iterable[str] = ()) -> list[str]:
    """Break ``text`` into lines of at most ``width`` cells (``next_width`` for the lines after the
    first of each paragraph, e.g. under a label). Every character is kept: the lines joined give
    ``text`` back; a line may end with the spaces it broke at and with ``\\n``. Words of ``words``
    (Chinese terms) are not broken inside unless one is wider than a line."""
    width = max(1, int(width))
    nxt = max(1, int(next_width)) if next_width is not None else width
    kept = words if isinstance(words, tuple) else tuple(words)
    out: list[str] = []
    paras = text.split("\n")
    for k, para in enumerate(paras):
        lines = _break_para(para, width, nxt, kept) if para else [""]
        if k < len(paras) - 1:
            lines[-1] += "\n"
        out.extend(lines)
    if len(out) > 1 and out[-1] == "":
        out.pop()  # text ending with a newline: no empty last line
    return out


def wrap(text: str, width: int, next_width: int | None = None, words: Iterable[str] = ()) -> list[str]:
    """The display lines of ``text``: :func:`break_lines` without hanging spaces and newlines."""
    return [ln.rstrip("\n").rstrip(" \t") for ln in break_lines(text, width, next_width, words)]


def wrap_label(text: str, width: int, next_width: int | None = None, words: Iterable[str] = ()) -> list[str]:
    """A short label (a list item, a title) wrapped without breaking its words: the terms of
    :data:`LABEL_WORDS` and ``words`` stay whole (``可学习`` / ``位置编码``, not ``可学习位`` /
    ``置编码``) unless one is wider than the line."""
    extra = tuple(words)
    return wrap(text, width, next_width, _label_words(extra))


@lru_cache(maxsize=64)
def _label_words(extra: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(LABEL_WORDS) | {w for w in extra if w and all(_is_wide(c) for c in w)}, key=len))
