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

from studytool.tui.base import Section
from studytool.tui.wrapping import Wrapped


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
    HELP = (
        "Your day at a glance. Enter (or n) does the highlighted next step.",
        "今天的概况。按 Enter（或 n）执行高亮的下一步。",
    )
    BINDINGS = [Binding("n", "next_step", "Do next"), Binding("r", "refresh", "Refresh")]

    def body(self) -> ComposeResult:
        with Vertical(id="today"):
            yield Static(self.t("Loading…", "加载中…"), id="today-counts")
            yield Static(id="today-topics")
            yield Static(id="today-next-title", classes="heading")
            # the list of next steps is mounted with the numbers: the first frame stays light

    def load(self) -> None:
        self.compute_in_worker()  # the numbers in a thread; fill() draws them

    def compute(self):
        from studytool.today import today

        core = self.core
        assert core is not None
        return today(core.store, core.content, now=self.study.clock(), config=core.config)

    def fill(self, day) -> None:
        from studytool.content import TOPIC_LABELS

        self.day = day
        stats, done_today = day.stats, day.stats["today"]
        c = RichText()
        # the three counts of Review (one definition in the core: what a session now would show)
        counts = day.counts
        c.append(self.t("Due now ", "待复习 "), style="bold")
        c.append(f"{counts.due_now}", style="bold yellow")
        c.append(
            self.t(
                f" ({counts.learning} learning, {counts.review} review)",
                f"（学习中 {counts.learning}，复习 {counts.review}）",
            )
        )
        c.append(self.t("   New today ", "   今日新卡 "), style="bold")
        c.append(f"{counts.new}", style="bold cyan")
        c.append(self.t("   Streak ", "   连续 "), style="bold")
        c.append(self.t(f"{stats['streak_days']} day(s)", f"{stats['streak_days']} 天"))
        c.append(
            self.t(
                f"\nReviewed today {done_today['reviews']} ({done_today['again']} again) · "
                f"{stats['reviews']} reviews in all",
                f"\n今天已复习 {done_today['reviews']}（重来 {done_today['again']}）· "
                f"共 {stats['reviews']} 次",
            )
        )
        ret = stats.get("retention_30d")
        if ret is not None:
            c.append(self.t(f" · retention {ret:.0%}", f" · 保持率 {ret:.0%}"))
        self.query_one("#today-counts", Static).update(Wrapped(c, indent=2))

        width = max(10, min(30, self.app.size.width - 42))
        t = RichText()
        t.append(self.t("Progress by topic (items studied)\n", "各主题进度（已学习的条目）\n"), style="bold")
        for tp in day.topics:
            label = TOPIC_LABELS[tp.topic][1 if self.lang == "zh" else 0]
            t.append(label + " " * max(1, 23 - cell_len(label)))
            t.append_text(_bar(tp.studied, tp.total, width))
            t.append(f" {tp.studied:>3}/{tp.total:<3}")
            if tp.retention_30d is not None:
                t.append(f" {tp.retention_30d:.0%}", style="green")
            t.append("\n")
        t.append(
            self.t(
                f"Exercises passed {day.exercises_passed}/{day.exercises_total} · "
                f"checklist {day.checklist_done}/{day.checklist_total}",
                f"练习通过 {day.exercises_passed}/{day.exercises_total} · "
                f"清单 {day.checklist_done}/{day.checklist_total}",
            )
        )
        self.query_one("#today-topics", Static).update(t)

        self.suggestions = [self._phrase(step) for step in day.next_steps]
        self.query_one("#today-next-title", Static).update(self.t("Next — enter or n", "下一步 — Enter 或 n"))
        found = self.query("#today-next")
        if found:
            ol = found.first(OptionList)
        else:
            ol = OptionList(id="today-next")
            self.query_one("#today").mount(ol)
        highlighted = ol.highlighted
        ol.clear_options()
        ol.add_options([Option(Wrapped(s.text, indent=2), id=str(i)) for i, s in enumerate(self.suggestions)])
        if self.suggestions:
            ol.highlighted = (
                highlighted if highlighted is not None and highlighted < len(self.suggestions) else 0
            )
        ol.focus()

    def _phrase(self, step) -> Suggestion:
        """A core NextStep in the learner's language, with the section it opens."""
        lang = self.lang
        if step.kind == "review":
            return Suggestion(
                "review",
                None,
                self.t(
                    f"Review: {step.due} due, {step.new} new", f"复习：{step.due} 张到期，{step.new} 张新卡"
                ),
            )
        if step.kind == "exercise":
            title = step.exercise.title.get(lang)
            if step.best is not None:
                b = step.best
                return Suggestion(
                    "exercises",
                    step.item_id,
                    self.t(
                        f"Fix exercise “{title}” ({b['passed']}/{b['total']} passing)",
                        f"修正练习“{title}”（{b['passed']}/{b['total']} 通过）",
                    ),
                )
            return Suggestion(
                "exercises", step.item_id, self.t(f"Start exercise “{title}”", f"开始练习“{title}”")
            )
        if step.kind == "checklist":
            text = step.checklist_item.text.get(lang)
            return Suggestion(
                "checklist",
                step.item_id,
                self.t(f"Checklist {step.item_id}: {text}", f"清单 {step.item_id}：{text}"),
            )
        return Suggestion(
            "stats", None, self.t("All done for today — look at your stats", "今天的任务都完成了——看看统计")
        )

    async def _go(self, index: int) -> None:
        if 0 <= index < len(getattr(self, "suggestions", [])):
            s = self.suggestions[index]
            await self.study.goto(s.mode, s.item_id)

    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        await self._go(event.option_index)

    async def action_next_step(self) -> None:
        found = self.query("#today-next")
        await self._go(found.first(OptionList).highlighted or 0 if found else 0)

    def action_refresh(self) -> None:
        self.load()
