"""Rich text broken into lines by the core's one line-breaking function (:mod:`studytool.textwrap_cjk`).

``Wrapped(text)`` is a Rich renderable: Textual renders it at the width the widget has, so it is
broken again on every resize. Continuation lines may be indented under a label (``indent``).
Every screen's prose goes through it, in both languages, so Chinese wraps like Chinese: between
any two characters, never a closing mark first on a line, Latin words and formulas whole.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text as RichText

from studytool.textwrap_cjk import break_lines, cell_width


def wrap_text(text: RichText, width: int, indent: int = 0) -> list[RichText]:
    """The display lines of a styled text at ``width``: continuation lines (not those after a
    newline) start with ``indent`` spaces."""
    width = max(1, width)
    indent = indent if indent < width - 4 else 0
    pieces = break_lines(text.plain, width, width - indent)
    offsets, pos = [], 0
    for p in pieces[:-1]:
        pos += len(p)
        offsets.append(pos)
    parts = text.divide(offsets) if offsets else [text.copy()]
    out: list[RichText] = []
    soft = False  # the previous piece ended without a newline
    for piece, part in zip(pieces, parts):
        part.rstrip()
        part.no_wrap = True
        if soft and indent:
            part = RichText(" " * indent) + part
        out.append(part)
        soft = not piece.endswith("\n")
    return out


class Wrapped:
    """A Rich renderable: ``text`` broken into lines at the width it is rendered at."""

    def __init__(self, text: RichText | str, indent: int = 0, style: str = "") -> None:
        self.text = text if isinstance(text, RichText) else RichText(text, style=style)
        self.indent = indent

    def lines(self, width: int) -> list[RichText]:
        return wrap_text(self.text, width, self.indent)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = self.lines(options.max_width)
        joined = RichText("\n", no_wrap=True, overflow="crop").join(lines)
        joined.no_wrap = True
        joined.overflow = "crop"
        joined.end = "\n"
        yield joined

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        plain = self.text.plain
        longest = max((cell_width(p) for p in plain.split("\n")), default=0)
        return Measurement(min(longest, 8), longest)

    def __str__(self) -> str:  # what tests read
        return self.text.plain


def stack(items: Iterable[Wrapped | RichText]) -> Stack:
    return Stack(list(items))


class Stack:
    """Several wrapped blocks one under the other (each with its own indent)."""

    def __init__(self, items: list) -> None:
        self.items = items

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines: list[RichText] = []
        for it in self.items:
            if isinstance(it, (Wrapped, Flow)):
                lines.extend(it.lines(options.max_width))
            else:
                lines.extend(Wrapped(it).lines(options.max_width))
        joined = RichText("\n", no_wrap=True).join(lines)
        joined.no_wrap = True
        joined.overflow = "crop"
        joined.end = "\n"
        yield joined

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        ms = [
            Wrapped(it).__rich_measure__(console, options)
            if not isinstance(it, (Wrapped, Flow))
            else it.__rich_measure__(console, options)
            for it in self.items
        ]
        return Measurement(max((m.minimum for m in ms), default=0), max((m.maximum for m in ms), default=0))

    def __str__(self) -> str:
        return "\n".join(it.plain if isinstance(it, RichText) else str(it) for it in self.items)


class Flow:
    """Short entries (a chart legend) laid out in lines, ``gap`` apart; an entry is never broken
    unless it is wider than the line (then it is wrapped on its own)."""

    def __init__(self, entries: list[RichText], gap: int = 2) -> None:
        self.entries = entries
        self.gap = gap

    def lines(self, width: int) -> list[RichText]:
        out: list[RichText] = []
        cur: RichText | None = None
        for e in self.entries:
            w = cell_width(e.plain)
            if cur is not None and cell_width(cur.plain) + self.gap + w <= width:
                cur = cur + RichText(" " * self.gap) + e
                continue
            if cur is not None:
                out.append(cur)
                cur = None
            if w > width:
                out.extend(Wrapped(e).lines(width))
            else:
                cur = e.copy()
        if cur is not None:
            out.append(cur)
        return out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        joined = RichText("\n", no_wrap=True).join(self.lines(options.max_width))
        joined.no_wrap = True
        joined.overflow = "crop"
        joined.end = "\n"
        yield joined

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widths = [cell_width(e.plain) for e in self.entries]
        return Measurement(max(widths, default=0), sum(widths) + self.gap * max(0, len(widths) - 1))

    def __str__(self) -> str:
        return "  ".join(e.plain for e in self.entries)
