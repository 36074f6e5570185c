"""1 · Today: due and new counts, streak, progress per topic, and the next thing to do."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from studytool.tui.base import Section, guarded


@dataclass(frozen=True)
class Suggestion:
    mode: str
    item_id: str | None
    text: str


def _bar(done: int, total: int, width: int) -> RichText:
    filled = 0 if total == 0 else round(width * done / total)
    t = RichText()
    t.append("█" * filled, style="green")
    t.append("░" * (width - filled), style="grey50")
    return t


class TodayScreen(Section):
    SECTION = "today"
    HELP = ("Your day at a glance. Enter (or n) does the highlighted next step.",
            "今天的概况。按 Enter（或 n）执行高亮的下一步。")
    BINDINGS = [Binding("n", "next_step", "Do next"),
                Binding("r", "refresh", "Refresh")]

    def body(self) -> ComposeResult:
        with Vertical(id="today"):
            yield Static(self.t("Loading…", "加载中…"), id="today-counts")
            yield Static(id="today-topics")
            yield Static(id="today-next-title", classes="heading")
            yield OptionList(id="today-next")

    def load(self) -> None:
        from studytool import scheduler as sch
        from studytool.checklist import checklist_status
        from studytool.content import TOPIC_LABELS, TOPICS

        core = self.core
        assert core is not None
        now = self.study.clock()
        stats = sch.review_stats(core.store, core.content, now=now, config=core.config)
        # what a review session started now would offer (suspended and buried items left out)
        new_today = sch.build_queue(core.store, core.content, now=now,
                                    config=core.config).counts(now)["new"]
        cards = stats["cards"]
        today = stats["today"]
        lang = self.lang
        c = RichText()
        c.append(self.t("Due now ", "待复习 "), style="bold")
        c.append(f"{cards['due']}", style="bold yellow")
        c.append(self.t("   New today ", "   今日新卡 "), style="bold")
        c.append(f"{new_today}", style="bold cyan")
        c.append(self.t("   Streak ", "   连续 "), style="bold")
        c.append(self.t(f"{stats['streak_days']} day(s)", f"{stats['streak_days']} 天"))
        c.append(self.t(f"\nReviewed today {today['reviews']} ({today['again']} again) · "
                        f"{stats['reviews']} reviews in all",
                        f"\n今天已复习 {today['reviews']}（重来 {today['again']}）· 共 {stats['reviews']} 次"))
        ret = stats.get("retention_30d")
        if ret is not None:
            c.append(self.t(f" · retention {ret:.0%}", f" · 保持率 {ret:.0%}"))
        self.query_one("#today-counts", Static).update(c)

        # progress per topic: items studied at least once, of all items in the topic
        states = sch.load_states(core.store)
        items = sch.review_items(core.content)
        width = max(10, min(30, self.app.size.width - 42))
        t = RichText()
        t.append(self.t("Progress by topic (items studied)\n", "各主题进度（已学习的条目）\n"),
                 style="bold")
        for topic in TOPICS:
            mine = [it for it in items if it.topic == topic]
            done = sum(1 for it in mine if it.id in states and not states[it.id].is_new)
            label = TOPIC_LABELS[topic][1 if lang == "zh" else 0]
            t.append(label + " " * max(1, 23 - cell_len(label)))
            t.append_text(_bar(done, len(mine), width))
            tr = stats["topics"].get(topic, {}).get("retention_30d")
            t.append(f" {done:>3}/{len(mine):<3}")
            if tr is not None:
                t.append(f" {tr:.0%}", style="green")
            t.append("\n")
        ex_passed = sum(1 for s in core.store.exercise_summary().values() if s.passed)
        status = checklist_status(core.store, core.content)
        ticked = sum(1 for s in status if s.done)
        t.append(self.t(f"Exercises passed {ex_passed}/{len(core.content.exercises)} · "
                        f"checklist {ticked}/{len(status)}",
                        f"练习通过 {ex_passed}/{len(core.content.exercises)} · 清单 {ticked}/{len(status)}"))
        self.query_one("#today-topics", Static).update(t)

        self.suggestions = self._suggest(cards["due"], new_today, status)
        self.query_one("#today-next-title", Static).update(
            self.t("Next — enter or n", "下一步 — Enter 或 n"))
        ol = self.query_one("#today-next", OptionList)
        highlighted = ol.highlighted
        ol.clear_options()
        ol.add_options([Option(s.text, id=str(i)) for i, s in enumerate(self.suggestions)])
        if self.suggestions:
            ol.highlighted = highlighted if highlighted is not None and highlighted < len(
                self.suggestions) else 0
        ol.focus()

    def _suggest(self, due: int, new_today: int, status) -> list[Suggestion]:
        core = self.core
        assert core is not None
        lang = self.lang
        out = []
        if due or new_today:
            out.append(Suggestion("review", None, self.t(
                f"Review: {due} due, {new_today} new", f"复习：{due} 张到期，{new_today} 张新卡")))
        summary = core.store.exercise_summary()
        exercises = sorted(core.content.exercises, key=lambda e: e.order)
        failing = [e for e in exercises if e.id in summary and not summary[e.id].passed]
        fresh = [e for e in exercises if e.id not in summary]
        if failing:
            e = failing[0]
            best = summary[e.id].best or {"passed": 0, "total": 0}
            out.append(Suggestion("exercises", e.id, self.t(
                f"Fix exercise “{e.title.get(lang)}” ({best['passed']}/{best['total']} passing)",
                f"修正练习“{e.title.get(lang)}”（{best['passed']}/{best['total']} 通过）")))
        elif fresh:
            e = fresh[0]
            out.append(Suggestion("exercises", e.id, self.t(
                f"Start exercise “{e.title.get(lang)}”", f"开始练习“{e.title.get(lang)}”")))
        open_items = [s for s in status if not s.done]
        if open_items:
            s = open_items[0]
            out.append(Suggestion("checklist", s.item.id, self.t(
                f"Checklist {s.item.id}: {s.item.text.get(lang)}",
                f"清单 {s.item.id}：{s.item.text.get(lang)}")))
        if not out:
            out.append(Suggestion("stats", None, self.t(
                "All done for today — look at your stats", "今天的任务都完成了——看看统计")))
        return out

    async def _go(self, index: int) -> None:
        if 0 <= index < len(getattr(self, "suggestions", [])):
            s = self.suggestions[index]
            await self.study.goto(s.mode, s.item_id)

    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        await self._go(event.option_index)

    async def action_next_step(self) -> None:
        ol = self.query_one("#today-next", OptionList)
        await self._go(ol.highlighted or 0)

    @guarded
    def action_refresh(self) -> None:
        self.load()
