"""Widgets shared by the screens: the section bar, the heatmap, the figure and help dialogs."""

from __future__ import annotations

import math

from rich.style import Style
from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
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

    def __init__(
        self, panel: Panel, max_rows: int | None = None, max_cols: int | None = None, **kwargs
    ) -> None:
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


PANEL_ZH = {"reference": "参考", "mask": "掩码", "angle": "角度", "yours": "你的"}


def localized_panel(panel: Panel, lang: str) -> Panel:
    from dataclasses import replace

    if lang == "zh" and panel.title in PANEL_ZH:
        return replace(panel, title=PANEL_ZH[panel.title])
    return panel


def legend(panel: Panel, width: int = 16, lang: str = "en") -> RichText:
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
        t.append(tr(lang, " masked", " 被遮蔽"))
    return t


class FigureScreen(ModalScreen[None]):
    """One figure: the reference (and the learner's own output beside it, when there is one)."""

    BINDINGS = [
        Binding("escape,q", "close", "Close"),
        Binding("right,n", "cycle(1)", "Next figure"),
        Binding("left,p", "cycle(-1)", "Previous"),
    ]

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
        localize_bindings(self, self.lang)
        self.show()

    def show(self) -> None:
        fig = self.figures[self.index]
        lang = self.lang
        self.query_one("#figure-title", Static).update(
            RichText(
                f"{fig.title[1] if lang == 'zh' else fig.title[0]}   ({fig.axes[0]}, {fig.axes[1]})",
                style="bold",
            )
        )
        panels = self.query_one("#figure-panels", Horizontal)
        panels.remove_children()
        width = self.app.size.width - 8
        many = len(fig.panels) > 2
        gap = 1 if many else 2
        per = max(4, (width - gap * len(fig.panels)) // max(1, len(fig.panels)))
        panels.mount_all(
            [
                Heatmap(
                    localized_panel(p, lang),
                    max_cols=per,
                    classes="figure-panel" + (" small" if many else ""),
                )
                for p in fig.panels
            ]
        )
        cap = fig.caption[1] if lang == "zh" else fig.caption[0]
        self.query_one("#figure-caption", Static).update(
            RichText.assemble(legend(fig.panels[0], lang=lang), "\n", cap)
        )
        keys = tr(lang, "esc close", "esc 关闭")
        if len(self.figures) > 1:
            keys += tr(
                lang,
                f"   ←/→ other figures ({self.index + 1}/{len(self.figures)})",
                f"   ←/→ 其他图 ({self.index + 1}/{len(self.figures)})",
            )
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
        from studytool.textwrap_cjk import cell_width
        from studytool.tui.wrapping import Stack, Wrapped

        blocks: list = [RichText(self.title_text, style="bold"), RichText("")]
        if self.about:
            blocks += [Wrapped(self.about), RichText("")]
        width = max((cell_width(k) for k, _ in self.rows), default=4) + 2
        for key, desc in self.rows:
            t = RichText()
            t.append(key + " " * (width - cell_width(key)), style="bold")
            t.append(desc)
            blocks.append(Wrapped(t, indent=width))  # a wrapped description stays in its column
        with VerticalScroll(id="help-box"):
            yield Static(Stack(blocks))

    def action_close(self) -> None:
        self.dismiss(None)


class TextDialog(ModalScreen[None]):
    """A scrollable text (a hint, a solution, the cards of an insight)."""

    BINDINGS = [Binding("escape,q,enter", "close", "Close")]

    def __init__(
        self, title: str, body: str, markdown: bool = False, lang: str = "en", keys: str = ""
    ) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.markdown = markdown
        self.lang = lang
        self.keys = keys

    def compose(self) -> ComposeResult:
        from studytool.tui.wrapping import Wrapped

        with Vertical(id="dialog-box"):
            yield Static(RichText(self.title_text, style="bold"), id="dialog-title")
            with VerticalScroll(id="dialog-scroll"):
                if self.markdown:
                    from textual.widgets import Markdown

                    yield Markdown(self.body)
                else:
                    yield Static(Wrapped(self.body), id="dialog-body")
            yield Static(
                RichText(self.keys or tr(self.lang, "esc close", "esc 关闭"), style="dim"), id="dialog-keys"
            )

    def on_mount(self) -> None:
        localize_bindings(self, self.lang)

    def set_body(self, title: str, body: str, keys: str = "") -> None:
        from studytool.tui.wrapping import Wrapped

        self.title_text, self.body = title, body
        self.query_one("#dialog-title", Static).update(RichText(title, style="bold"))
        self.query_one("#dialog-body", Static).update(Wrapped(body))
        if keys:
            self.query_one("#dialog-keys", Static).update(RichText(keys, style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)


# ---------------------------------------------------------------------------- Chinese key labels

BINDING_ZH = {
    # app
    "Help": "帮助",
    "Quit": "退出",
    "Settings": "设置",  # h4a-srs: the settings screen (studytool/tui/settings.py)
    "Browse": "浏览",  # h4a-srs: the card browser (studytool/tui/browser.py)
    "中文": "中文",
    "English": "English",
    # review
    "Reveal": "翻面",
    "True": "正确",
    "False": "错误",
    "Type answer": "输入答案",
    "Again": "重来",
    "Hard": "困难",
    "Good": "良好",
    "Easy": "简单",
    "Undo": "撤销",
    "Suspend": "暂停",
    "Bury": "搁置",
    "Figure": "图示",
    "New session": "新的一轮",
    "Cram": "突击",
    "Cram off": "关闭突击",
    "Done typing": "结束输入",
    "Suspended & buried": "暂停与搁置",
    # key points
    "Mark point": "标记要点",
    "Previous point": "上一个要点",
    "Next point": "下一个要点",
    # questions
    "Key points": "要点列表",
    "Write": "写答案",
    "Save": "保存",
    "Insight": "看要点",
    "Exercise": "练习",
    # insights
    "Question": "问题",
    "Cards": "卡片",
    # exercises
    "Start": "开始",
    "Edit": "编辑",
    "Check": "检查",
    "Hint": "提示",
    "Watch": "监视",
    "Solution": "参考答案",
    "Next exercise": "下一个练习",
    "Cancel check": "取消检查",
    "Description": "题目说明",
    # checklist
    "Tick/untick": "勾选/取消",
    "Open linked": "打开关联",
    # today, stats
    "Do next": "下一步",
    "Refresh": "刷新",
    # dialogs
    "Close": "关闭",
    "Next figure": "下一张图",
    "Previous": "上一张",
    "Next hint": "下一个提示",
    "Restore": "恢复",
    # lab (section 8)
    "Run": "运行",
    "Quick run": "快速运行",
    "Seed": "换种子",
    "Cancel": "取消",
}
_BINDING_EN = {zh: en for en, zh in BINDING_ZH.items()}


def binding_label(description: str, lang: str) -> str:
    """A key label in ``lang`` (labels are written in English in BINDINGS)."""
    en = _BINDING_EN.get(description, description)
    return BINDING_ZH.get(en, en) if lang == "zh" else en


def localize_bindings(node, lang: str) -> None:
    """Give the bindings of ``node`` their labels in ``lang`` (the footer and the help read them)."""
    from dataclasses import replace

    bmap = getattr(node, "_bindings", None)
    if bmap is None:
        return
    for key, bindings in bmap.key_to_bindings.items():
        bmap.key_to_bindings[key] = [
            replace(b, description=binding_label(b.description, lang)) if b.description else b
            for b in bindings
        ]


def localize_tree(root, lang: str) -> None:
    """``root`` (a screen) and every widget in it."""
    localize_bindings(root, lang)
    for node in root.query("*"):
        if node._bindings.key_to_bindings:
            localize_bindings(node, lang)


# ---------------------------------------------------------------------------- key points


class KeyPoints(Widget, can_focus=True):
    """The key points of a question, each wrapped in full, marked from the keyboard (↑/↓ choose,
    space or x marks) or with the mouse. Digits are left alone: 1–4 rate in Review."""

    DEFAULT_CSS = """
    KeyPoints { height: auto; padding: 0 0; }
    """
    BINDINGS = [
        Binding("space,x", "toggle", "Mark point"),
        Binding("up,k", "move(-1)", "Previous point", show=False),
        Binding("down,j", "move(1)", "Next point", show=False),
    ]

    class Changed(Message):
        def __init__(self, points: KeyPoints) -> None:
            super().__init__()
            self.points = points

        @property
        def control(self) -> KeyPoints:
            return self.points

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.points: list[str] = []
        self.marked: set[int] = set()
        self.cursor = 0
        self._rows: list[int] = []  # the first line of each point at the last render

    @property
    def selected(self) -> list[int]:
        return sorted(self.marked)

    @property
    def option_count(self) -> int:
        return len(self.points)

    def set_points(self, points: list[str], keep: bool = True) -> None:
        if not keep or len(points) != len(self.points):
            self.marked = set()
            self.cursor = 0
        self.points = list(points)
        self.refresh(layout=True)

    def clear(self) -> None:
        self.set_points([], keep=False)

    def _blocks(self):
        from studytool.tui.wrapping import Wrapped

        focused = self.has_focus
        out = []
        for i, p in enumerate(self.points):
            t = RichText()
            here = focused and i == self.cursor
            t.append("▸ " if here else "  ", style="bold")
            t.append(
                "[x] " if i in self.marked else "[ ] ", style="bold green" if i in self.marked else "bold"
            )
            t.append(p, style="bold" if here else "")
            if here:
                t.stylize("reverse", 0, 1)
            out.append(Wrapped(t, indent=6))
        return out

    def render(self):
        from studytool.tui.wrapping import Stack

        width = max(1, self.content_region.width or self.size.width or 80)
        rows, y = [], 0
        for b in self._blocks():
            rows.append(y)
            y += len(b.lines(width))
        self._rows = rows
        return Stack(self._blocks())

    def get_content_height(self, container, viewport, width: int) -> int:
        return sum(len(b.lines(max(1, width))) for b in self._blocks()) or 1

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_move(self, step: int) -> None:
        if self.points:
            self.cursor = (self.cursor + step) % len(self.points)
            self.refresh()
            self._scroll_to_cursor()

    def _row_starts(self, width: int) -> list[int]:
        rows, y = [], 0
        for b in self._blocks():
            rows.append(y)
            y += len(b.lines(max(1, width)))
        return rows

    def _scroll_to_cursor(self) -> None:
        """Bring the point under the cursor into view (the list may start below the answer)."""
        from textual.geometry import Region

        self._rows = self._row_starts(self.content_region.width or self.size.width or 80)
        if not self._rows or self.parent is None:
            return
        top = self._rows[self.cursor]
        bottom = self._rows[self.cursor + 1] if self.cursor + 1 < len(self._rows) else None
        h = (bottom - top) if bottom is not None else 2
        r = self.virtual_region
        try:
            self.parent.scroll_to_region(Region(r.x, r.y + top, r.width, h), animate=False)
        except Exception:  # noqa: BLE001 - not in a scrollable container
            pass

    def action_toggle(self, index: int | None = None) -> None:
        i = self.cursor if index is None else index
        if not 0 <= i < len(self.points):
            return
        self.marked ^= {i}
        self.refresh()
        self._scroll_to_cursor()
        self.post_message(self.Changed(self))

    def on_click(self, event) -> None:
        y = event.y
        for i in range(len(self._rows) - 1, -1, -1):
            if y >= self._rows[i]:
                self.cursor = i
                self.action_toggle(i)
                return


class HintDialog(TextDialog):
    """The hints of an exercise: `h` inside shows the next one (counted only when it is shown)."""

    BINDINGS = [Binding("h", "next_hint", "Next hint")]

    def __init__(self, title: str, body: str, next_hint, lang: str = "en", keys: str = "") -> None:
        super().__init__(title, body, lang=lang, keys=keys)
        self._next = next_hint

    def action_next_hint(self) -> None:
        got = self._next()
        if got is not None:
            self.set_body(*got)
            self.query_one("#dialog-scroll", VerticalScroll).scroll_end(animate=False)


class HeldScreen(ModalScreen[bool]):
    """The suspended and buried items (Review, S): enter or space puts one back in review.
    Dismisses with True when something was restored."""

    BINDINGS = [Binding("escape,q", "close", "Close"), Binding("enter,space", "restore", "Restore")]

    def __init__(self, store, content, now, lang: str) -> None:
        super().__init__()
        self.store, self.content, self.now, self.lang = store, content, now, lang
        self.restored = 0

    def compose(self) -> ComposeResult:
        from textual.widgets import OptionList

        with Vertical(id="dialog-box"):
            yield Static(
                RichText(tr(self.lang, "Suspended & buried", "暂停与搁置的条目"), style="bold"),
                id="dialog-title",
            )
            yield OptionList(id="held-list")
            yield Static(
                RichText(
                    tr(
                        self.lang,
                        "enter/space put back in review · esc close",
                        "enter/空格 恢复复习 · esc 关闭",
                    ),
                    style="dim",
                ),
                id="dialog-keys",
            )

    def on_mount(self) -> None:
        localize_bindings(self, self.lang)
        self.fill()

    def fill(self) -> None:
        from textual.widgets import OptionList
        from textual.widgets.option_list import Option

        from studytool.scheduler import held_items
        from studytool.tui.wrapping import Wrapped

        self.held = held_items(self.store, self.content, self.now)
        ol = self.query_one("#held-list", OptionList)
        keep = ol.highlighted
        ol.clear_options()
        if not self.held:
            ol.add_option(
                Option(
                    tr(self.lang, "Nothing is suspended or buried.", "没有暂停或搁置的条目。"), disabled=True
                )
            )
            return
        for k, h in enumerate(self.held):
            t = RichText()
            if h.how == "suspended":
                tag = tr(self.lang, "suspended", "暂停")
            else:
                until = h.until.astimezone().strftime("%m-%d %H:%M") if h.until else ""
                tag = tr(self.lang, f"buried until {until}", f"搁置到 {until}")
            t.append(f"[{tag}] ", style="bold yellow" if h.how == "buried" else "bold magenta")
            t.append(h.title(self.lang, 200))
            ol.add_option(Option(Wrapped(t, indent=2), id=str(k)))
        ol.highlighted = min(keep or 0, len(self.held) - 1)
        ol.focus()

    def action_restore(self) -> None:
        from textual.widgets import OptionList

        from studytool.i18n import tr as core_tr
        from studytool.scheduler import restore_held

        ol = self.query_one("#held-list", OptionList)
        if not self.held or ol.highlighted is None:
            return
        h = self.held[ol.highlighted]
        restore_held(self.store, h, now=self.now)
        self.restored += 1
        self.app.notify(
            core_tr(
                "unsuspended" if h.how == "suspended" else "unburied", self.lang, title=h.title(self.lang, 40)
            )
        )
        self.fill()

    def on_option_list_option_selected(self, event) -> None:
        event.stop()
        self.action_restore()

    def action_close(self) -> None:
        self.dismiss(self.restored > 0)
