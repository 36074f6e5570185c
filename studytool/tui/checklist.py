"""6 · Checklist: the 21 practice items by group; tick and untick. Items whose evidence is complete
(a passed exercise, linked questions recalled) are ticked automatically and say why."""

from __future__ import annotations

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from studytool.checklist import Evidence
from studytool.tui.base import Section, guarded
from studytool.tui.wrapping import Wrapped

GROUPS = {
    "theory": ("Theory", "理论"),
    "programming": ("Programming", "编程"),
    "systems": ("Systems thinking", "系统思维"),
}


class ChecklistScreen(Section):
    SECTION = "checklist"
    HELP = (
        "Space or enter ticks and unticks the highlighted item. Items with complete evidence "
        "are ticked for you; your own choice always wins.",
        "空格或 Enter 勾选/取消高亮的条目。证据齐全的条目会自动勾选；你的选择始终优先。",
    )
    BINDINGS = [Binding("space", "toggle", "Tick/untick"), Binding("o", "open", "Open linked")]

    def body(self) -> ComposeResult:
        yield Static(id="c-summary")
        yield OptionList(id="c-list")

    def load(self) -> None:
        from studytool.checklist import checklist_status

        core = self.core
        status = checklist_status(core.store, core.content)
        self.status = {s.item.id: s for s in status}
        lang = self.lang
        ol = self.query_one("#c-list", OptionList)
        keep = ol.highlighted
        ol.clear_options()
        options: list[Option] = []
        group = None
        for s in status:
            if s.item.group != group:
                group = s.item.group
                done = sum(1 for x in status if x.item.group == group and x.done)
                total = sum(1 for x in status if x.item.group == group)
                options.append(
                    Option(
                        RichText(
                            f"{GROUPS[group][1 if lang == 'zh' else 0]}  {done}/{total}",
                            style="bold underline",
                        ),
                        disabled=True,
                    )
                )
            t = RichText()
            t.append("[x] " if s.done else "[ ] ", style="bold green" if s.done else "bold")
            t.append(f"{s.item.id}  ", style="dim")
            t.append(s.item.text.get(lang))
            evidence = [self._fact(e) for e in s.evidence]
            missing = [self._fact(e) for e in s.missing]
            if s.source == "evidence":
                t.append(self.t("\n      ✓ auto: ", "\n      ✓ 自动："), style="green")
                t.append(self.t("; ", "；").join(evidence), style="green")
            elif s.evidence and s.missing:
                t.append(self.t("\n      evidence: ", "\n      证据："), style="dim")
                t.append(
                    self.t("; ", "；").join(evidence)
                    + self.t(" · missing: ", " · 缺少：")
                    + self.t("; ", "；").join(missing),
                    style="dim",
                )
            elif s.source == "unticked" and s.evidence:
                t.append(self.t("\n      (unticked by you)", "\n      （你取消了勾选）"), style="dim")
            # a wrapped line stays under the text, not under the box
            options.append(Option(Wrapped(t, indent=4 + len(s.item.id) + 2), id=s.item.id))
        ol.add_options(options)
        ol.highlighted = keep if keep is not None else 1
        done = sum(1 for s in status if s.done)
        self.query_one("#c-summary", Static).update(
            RichText.assemble(  # one line: no_wrap below
                (self.t(f"{done}/{len(status)} done", f"已完成 {done}/{len(status)}"), "bold"),
                (
                    self.t(
                        "   space tick/untick · o open the linked question or exercise",
                        "   空格 勾选/取消 · o 打开关联的问题或练习",
                    ),
                    "dim",
                ),
            )
        )
        ol.focus()

    def _fact(self, fact: Evidence) -> str:
        """An evidence fact of the core in the learner's language (the catalogue's words)."""
        return fact.render(self.lang)

    def select_item(self, item_id: str) -> None:
        ol = self.query_one("#c-list", OptionList)
        try:
            ol.highlighted = ol.get_option_index(item_id)
        except Exception:  # noqa: BLE001
            pass

    def _current_id(self) -> str | None:
        ol = self.query_one("#c-list", OptionList)
        if ol.highlighted is None:
            return None
        return ol.get_option_at_index(ol.highlighted).id

    @guarded
    def action_toggle(self) -> None:
        from studytool.checklist import set_done

        item_id = self._current_id()
        if item_id is None or self.core is None:
            return
        s = self.status[item_id]
        set_done(self.core.store, self.core.content, item_id, not s.done)
        self.load()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_toggle()

    async def action_open(self) -> None:
        item_id = self._current_id()
        if item_id is None:
            return
        item = self.status[item_id].item
        for eid in item.exercises:
            if self.core.content.exercise(eid):
                await self.study.goto("exercises", eid)
                return
        if item.questions:
            await self.study.goto("questions", item.questions[0])
