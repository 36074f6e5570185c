"""Widgets shared by the screens: the section bar, the heatmap, the figure and help dialogs."""

from __future__ import annotations

import math

from rich.style import Style
from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static

from studytool.tui.figures import Figure, Panel

SECTIONS = (
    # mode, key, English, Chinese
    ("today", "1", "Today", "今天"),
    ("review", "2", "Review", "复习"),
    ("questions", "3", "Questions", "问题"),
    ("insights", "4", "Insights", "要点"),
    ("exercises", "5", "Exercises", "练习"),
    ("checklist", "6", "Checklist", "清单"),
    ("stats", "7", "Stats", "统计"),
    ("lab", "8", "Lab", "实验"),
)


def tr(lang: str, en: str, zh: str) -> str:
    return zh if lang == "zh" else en


class SectionBar(Static):
    """The row of sections at the top: the key of each, the current one highlighted. The digits
    are dimmed while a text area has the keyboard (they type there)."""

    def __init__(self, current: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.current = current
        self.typing = False

    def update_bar(self, lang: str, typing: bool = False) -> None:
        self.typing = typing
        t = RichText(no_wrap=True, overflow="ellipsis")
        for mode, key, en, zh in SECTIONS:
            label = zh if lang == "zh" else en
            if mode == self.current:
                t.append(f" {key} {label} ", style="bold reverse")
            elif typing:
                t.append(f" {key} {label} ", style="dim")
            else:
                t.append(f" {key}", style="bold")
                t.append(f" {label}")  # one space between sections: all eight fit in 80 columns
        if typing:
            t.append(tr(lang, "  esc: leave the text", "  esc：离开输入框"), style="italic")
        self.update(t)


# ---------------------------------------------------------------------------- heatmap colours

_DIVERGING = [(59, 76, 192), (141, 176, 254), (221, 221, 221), (244, 154, 123), (180, 4, 38)]
_SEQUENTIAL = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
_BINARY = [(40, 40, 48), (255, 200, 60)]
_MASKED = (18, 18, 18)


def _lerp(stops: list[tuple[int, int, int]], t: float) -> tuple[int, int, int]:
    t = min(1.0, max(0.0, t))
    pos = t * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    f = pos - i
    a, b = stops[i], stops[i + 1]
    return tuple(round(a[k] + (b[k] - a[k]) * f) for k in range(3))  # type: ignore[return-value]


def colour(value: float | None, vmin: float, vmax: float, cmap: str) -> tuple[int, int, int]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _MASKED
    t = 0.5 if vmax == vmin else (value - vmin) / (vmax - vmin)
    if cmap == "diverging":
        return _lerp(_DIVERGING, t)
    if cmap == "binary":
        return _BINARY[1] if t >= 0.5 else _BINARY[0]
    if cmap == "cyclic":  # angle → a hue wheel
        import colorsys

        r, g, b = colorsys.hsv_to_rgb(t % 1.0, 0.65, 0.95)
        return round(r * 255), round(g * 255), round(b * 255)
    return _lerp(_SEQUENTIAL, t)


def _rgb(c: tuple[int, int, int]) -> str:
    return f"rgb({c[0]},{c[1]},{c[2]})"


class Heatmap(Widget):
    """A matrix drawn with half blocks: one column per matrix column, two matrix rows per line."""

    DEFAULT_CSS = "Heatmap { width: auto; height: auto; }"

    def __init__(self, panel: Panel, max_rows: int | None = None, max_cols: int | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.panel = panel
        rows = panel.matrix[: max_rows or len(panel.matrix)]
        self.matrix = [r[: max_cols or len(r)] for r in rows]

    def get_content_width(self, container, viewport) -> int:
        return max(len(self.panel.title), max((len(r) for r in self.matrix), default=0))

    def render_title(self) -> str:
        return self.panel.title

    def get_content_height(self, container, viewport, width) -> int:
        return 1 + (len(self.matrix) + 1) // 2

    def render(self) -> RichText:
        p = self.panel
        out = RichText(no_wrap=True)
        out.append(p.title + "\n", style="bold")
        rows = self.matrix
        for top in range(0, len(rows), 2):
            upper = rows[top]
            lower = rows[top + 1] if top + 1 < len(rows) else None
            for j, v in enumerate(upper):
                fg = colour(v, p.vmin, p.vmax, p.cmap)
                if lower is not None and j < len(lower):
                    bg = colour(lower[j], p.vmin, p.vmax, p.cmap)
                    out.append("▀", style=Style(color=_rgb(fg), bgcolor=_rgb(bg)))
                else:
                    out.append("▀", style=Style(color=_rgb(fg)))
            if top + 2 < len(rows):
                out.append("\n")
        return out


def legend(panel: Panel, width: int = 16) -> RichText:
    t = RichText(no_wrap=True)
    fmt = (lambda v: f"{v:.2g}") if panel.cmap != "cyclic" else (lambda v: f"{v:.2f}")
    t.append(fmt(panel.vmin) + " ")
    for k in range(width):
        v = panel.vmin + (panel.vmax - panel.vmin) * k / max(1, width - 1)
        t.append("█", style=Style(color=_rgb(colour(v, panel.vmin, panel.vmax, panel.cmap))))
    t.append(" " + fmt(panel.vmax))
    if any(v is None for row in panel.matrix for v in row):
        t.append("   ")
        t.append("█", style=Style(color=_rgb(_MASKED)))
        t.append(" masked")
    return t


class FigureScreen(ModalScreen[None]):
    """One figure: the reference (and the learner's own output beside it, when there is one)."""

    BINDINGS = [Binding("escape,q", "close", "Close"),
                Binding("right,n", "cycle(1)", "Next figure"),
                Binding("left,p", "cycle(-1)", "Previous")]

    def __init__(self, figures: list[Figure], lang: str, index: int = 0) -> None:
        super().__init__()
        self.figures = figures
        self.lang = lang
        self.index = index

    def compose(self) -> ComposeResult:
        with Vertical(id="figure-box"):
            yield Static(id="figure-title")
            with VerticalScroll(id="figure-scroll"):
                yield Horizontal(id="figure-panels")
            yield Static(id="figure-caption")
            yield Static(id="figure-keys")

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        fig = self.figures[self.index]
        lang = self.lang
        self.query_one("#figure-title", Static).update(
            RichText(f"{fig.title[1] if lang == 'zh' else fig.title[0]}   "
                     f"({fig.axes[0]}, {fig.axes[1]})", style="bold"))
        panels = self.query_one("#figure-panels", Horizontal)
        panels.remove_children()
        width = self.app.size.width - 8
        many = len(fig.panels) > 2
        gap = 1 if many else 2
        per = max(4, (width - gap * len(fig.panels)) // max(1, len(fig.panels)))
        panels.mount_all([Heatmap(p, max_cols=per, classes="figure-panel" + (" small" if many else ""))
                          for p in fig.panels])
        cap = fig.caption[1] if lang == "zh" else fig.caption[0]
        self.query_one("#figure-caption", Static).update(
            RichText.assemble(legend(fig.panels[0]), "\n", cap))
        keys = tr(lang, "esc close", "esc 关闭")
        if len(self.figures) > 1:
            keys += tr(lang, f"   ←/→ other figures ({self.index + 1}/{len(self.figures)})",
                       f"   ←/→ 其他图 ({self.index + 1}/{len(self.figures)})")
        self.query_one("#figure-keys", Static).update(RichText(keys, style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_cycle(self, step: int) -> None:
        if len(self.figures) > 1:
            self.index = (self.index + step) % len(self.figures)
            self.show()


class HelpScreen(ModalScreen[None]):
    """`?`: the keys that work where you are, and the global ones."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, title: str, rows: list[tuple[str, str]], about: str) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows
        self.about = about

    def compose(self) -> ComposeResult:
        t = RichText()
        t.append(self.title_text + "\n\n", style="bold")
        if self.about:
            t.append(self.about + "\n\n")
        width = max((len(k) for k, _ in self.rows), default=4) + 2
        for key, desc in self.rows:
            t.append(key.ljust(width), style="bold")
            t.append(desc + "\n")
        with VerticalScroll(id="help-box"):
            yield Static(t)

    def action_close(self) -> None:
        self.dismiss(None)


class TextDialog(ModalScreen[None]):
    """A scrollable text (a hint, a solution, the cards of an insight)."""

    BINDINGS = [Binding("escape,q,enter", "close", "Close")]

    def __init__(self, title: str, body: str, markdown: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Static(RichText(self.title_text, style="bold"), id="dialog-title")
            with VerticalScroll(id="dialog-scroll"):
                if self.markdown:
                    from textual.widgets import Markdown

                    yield Markdown(self.body)
                else:
                    yield Static(self.body, markup=False)
            yield Static(RichText("esc close", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)
