"""4 · Insights: the ten key insights — the learner's analogy, the explanation, the formula — with
links to their questions and cards."""

from __future__ import annotations

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from studytool.tui.base import Section
from studytool.tui.wrapping import Wrapped


class InsightsScreen(Section):
    SECTION = "insights"
    HELP = (
        "Browse the ten insights. q opens the linked question, c lists the linked cards, g shows the figure.",
        "浏览十个要点。q 打开关联的问题，c 列出关联的卡片，g 显示图示。",
    )
    BINDINGS = [
        Binding("q", "question", "Question"),
        Binding("c", "cards", "Cards"),
        Binding("g", "figure", "Figure"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.iid: str | None = None

    def body(self) -> ComposeResult:
        with Horizontal(classes="split"):
            yield OptionList(id="i-list", classes="side")
            with VerticalScroll(id="i-detail", classes="main"):
                yield Static(id="i-text")

    def load(self) -> None:
        ol = self.query_one("#i-list", OptionList)
        keep = ol.highlighted
        ol.clear_options()
        ol.add_options(
            [
                Option(Wrapped(f"{i.number:>2}. {i.title.get(self.lang)}", indent=4), id=i.id)
                for i in self.core.content.insights
            ]
        )
        ol.highlighted = keep if keep is not None else 0
        if self.iid is None and self.core.content.insights:
            self.iid = self.core.content.insights[0].id
        self.show()
        if self.focused is None:
            ol.focus()

    def select_item(self, item_id: str) -> None:
        ol = self.query_one("#i-list", OptionList)
        try:
            ol.highlighted = ol.get_option_index(item_id)
        except Exception:  # noqa: BLE001
            return
        self.iid = item_id
        self.show()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.iid:
            self.iid = event.option.id
            self.show()

    def show(self) -> None:
        if self.iid is None:
            return
        content = self.core.content
        i = content.item(self.iid)
        lang = self.lang
        t = RichText()
        t.append(f"{i.number}. {i.title.get(lang)}\n\n", style="bold yellow")
        t.append("❝ ", style="bold magenta")
        t.append(i.analogy.get(lang), style="italic")
        t.append("\n\n")
        t.append(i.explanation.get(lang))
        if i.formula:
            t.append("\n\n")
            t.append(f" {i.formula} ", style="bold reverse")
        t.append("\n\n")
        qs = [content.item(q) for q in i.questions]
        if qs:
            t.append(self.t("Questions: ", "问题："), style="bold")
            t.append("; ".join(f"Q{q.number} {q.title.get(lang)}" for q in qs if q))
            t.append(self.t("  (q)\n", "（q）\n"), style="dim")
        if i.cards:
            t.append(self.t(f"Cards: {len(i.cards)}", f"卡片：{len(i.cards)} 张"), style="bold")
            t.append(self.t("  (c)\n", "（c）\n"), style="dim")
        self.query_one("#i-text", Static).update(Wrapped(t))
        self.query_one("#i-detail", VerticalScroll).scroll_home(animate=False)
        self.refresh_bindings()

    def _insight(self):
        return self.core.content.item(self.iid) if self.core and self.iid else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        i = self._insight()
        if i is None:
            return action not in ("question", "cards", "figure")
        if action == "question":
            return bool(i.questions)
        if action == "cards":
            return bool(i.cards)
        if action == "figure":
            from studytool.tui.figures import figures_for

            return bool(figures_for(self.core.content, i.id))
        return True

    async def action_question(self) -> None:
        i = self._insight()
        if i and i.questions:
            await self.study.goto("questions", i.questions[0])

    def action_cards(self) -> None:
        from studytool.tui.widgets import TextDialog

        i = self._insight()
        lang = self.lang
        lines = []
        for cid in i.cards:
            c = self.core.content.item(cid)
            if c is None:
                continue
            lines.append(f"▸ {c.prompt(lang)}\n  {c.reveal(lang)}\n")
        self.app.push_screen(
            TextDialog(
                self.t(f"Cards of insight {i.number}", f"要点 {i.number} 的卡片"), "\n".join(lines), lang=lang
            )
        )

    def action_figure(self) -> None:
        from studytool.tui.figures import figure, figures_for
        from studytool.tui.widgets import FigureScreen

        kinds = figures_for(self.core.content, self.iid)
        if kinds:
            self.app.push_screen(FigureScreen([figure(k) for k in kinds], self.lang))
