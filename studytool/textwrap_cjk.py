"""Line breaking for text that mixes Chinese with Latin words and formulas.

One function for every screen (the TUI renders the lines it returns; see
``studytool.tui.widgets.Wrapped``). Pure Python, no third-party imports.

The rules (a small subset of UAX #14 and the Chinese typesetting rules, 禁则):

* CJK (wide) characters may break between any two of them;
* a Latin word or a formula (a run of non-wide, non-space characters such as ``softmax(QK^T/√d)``)
  stays whole, unless it is wider than the line, when it is split by characters;
* spaces are break opportunities and hang at the end of the line (not counted in its width);
* no line starts with closing punctuation (。，、；：？！）」』》… and their ASCII/fullwidth
  equivalents) and no line ends with opening punctuation (（「『《“‘ …) — unless a single unit is
  wider than the line and there is no other way;
* ``\\n`` is a hard break.

Cell widths come from :func:`unicodedata.east_asian_width` (W and F are two cells, combining
marks and control characters none, everything else one) — the same widths a terminal uses.

``break_lines`` keeps every character: ``"".join(break_lines(t, w)) == t``. ``wrap`` is the
display form: the same lines without the hanging spaces and the newline.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["cell_width", "char_width", "break_lines", "wrap", "CLOSING", "OPENING"]

# may not start a line
CLOSING = frozenset(
    "。，、；：？！）」』》〉】〕〗〙〛｝］〞’”…‥・·〜～—"
    ".,;:?!)]}%"
    "．，；：？！）］｝｠％"
    "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶー々〻"
)
# may not end a line
OPENING = frozenset("（「『《〈【〔〖〘〚｛［〝‘“([{（［｛｟＄$£¥￥")

_SPACES = frozenset(" \t")


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
    return sum(char_width(c) for c in text)


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _atoms(para: str) -> list[str]:
    """Split a paragraph (no newline) into units that are never broken inside (if they fit):
    one wide character, or a run of non-wide non-space characters; trailing spaces hang on the
    unit before them (leading spaces form their own unit)."""
    atoms: list[str] = []
    i, n = 0, len(para)
    while i < n:
        ch = para[i]
        if ch in _SPACES:
            j = i
            while j < n and para[j] in _SPACES:
                j += 1
            if atoms:
                atoms[-1] += para[i:j]
            else:
                atoms.append(para[i:j])
            i = j
            continue
        if _is_wide(ch):
            j = i + 1
        else:
            j = i
            while j < n and para[j] not in _SPACES and not _is_wide(para[j]):
                j += 1
        # combining marks belong to the character before them
        while j < n and char_width(para[j]) == 0 and para[j] not in _SPACES:
            j += 1
        atoms.append(para[i:j])
        i = j
    return atoms


def _glued(prev: str, nxt: str) -> bool:
    """No break allowed between two atoms."""
    if prev and prev[-1] not in _SPACES and prev[-1] in OPENING:
        return True
    return bool(nxt) and nxt[0] in CLOSING


def _segments(atoms: list[str]) -> list[list[str]]:
    """Runs of atoms with no break opportunity between them."""
    segs: list[list[str]] = []
    for a in atoms:
        if segs and _glued(segs[-1][-1], a):
            segs[-1].append(a)
        else:
            segs.append([a])
    return segs


def _shown(s: str) -> int:
    """The width of a piece without its hanging spaces."""
    return cell_width(s.rstrip(" \t"))


def _split_chars(s: str, width: int, room: int) -> list[str]:
    """Split one over-wide unit by characters: the first piece fits ``room``, the rest ``width``."""
    pieces: list[str] = []
    cur, cw, limit = "", 0, room
    for ch in s:
        w = char_width(ch)
        if cur and ch not in _SPACES and cw + w > limit:
            pieces.append(cur)
            cur, cw, limit = "", 0, width
        cur += ch
        cw += w
    if cur:
        pieces.append(cur)
    return pieces


def _break_para(para: str, width: int, next_width: int) -> list[str]:
    lines: list[str] = []
    cur = ""
    limit = width

    def flush() -> None:
        nonlocal cur, limit
        lines.append(cur)
        cur = ""
        limit = next_width

    for seg in _segments(_atoms(para)):
        text = "".join(seg)
        if _shown(cur + text) <= limit:
            cur += text
            continue
        if cur and _shown(text) <= next_width:
            flush()
            cur = text
            continue
        # the segment is wider than a whole line: break between its atoms, then inside them
        for atom in seg:
            if _shown(cur + atom) <= limit:
                cur += atom
                continue
            opened = cur.rstrip(" \t") == cur and cur[-1:] in OPENING
            if cur and _shown(atom) <= next_width and not opened and atom[0] not in CLOSING:
                flush()
                cur = atom
                continue
            for ch in atom:
                if cur and ch not in _SPACES and _shown(cur + ch) > limit:
                    k = _split_point(cur, ch)
                    carry, cur = cur[k:], cur[:k]
                    flush()
                    cur = carry
                cur += ch
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


def break_lines(text: str, width: int, next_width: int | None = None) -> list[str]:
    """Break ``text`` into lines of at most ``width`` cells (``next_width`` for the lines after the
    first of each paragraph, e.g. under a label). Every character is kept: the lines joined give
    ``text`` back; a line may end with the spaces it broke at and with ``\\n``."""
    width = max(1, int(width))
    nxt = max(1, int(next_width)) if next_width is not None else width
    out: list[str] = []
    paras = text.split("\n")
    for k, para in enumerate(paras):
        lines = _break_para(para, width, nxt) if para else [""]
        if k < len(paras) - 1:
            lines[-1] += "\n"
        out.extend(lines)
    if len(out) > 1 and out[-1] == "":
        out.pop()  # text ending with a newline: no empty last line
    return out


def wrap(text: str, width: int, next_width: int | None = None) -> list[str]:
    """The display lines of ``text``: :func:`break_lines` without hanging spaces and newlines."""
    return [ln.rstrip("\n").rstrip(" \t") for ln in break_lines(text, width, next_width)]
