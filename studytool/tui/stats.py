"""7 · Stats: the numbers of `studytool stats`, and plots — reviews per day, retention by topic,
the 30-day forecast (textual-plotext)."""

from __future__ import annotations

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import Static
from textual_plotext import PlotextPlot

from studytool.tui.base import Section


def _int_yticks(plt, values: list[int]) -> None:
    top = max(values, default=0)
    step = max(1, -(-top // 4))
    plt.yticks(list(range(0, top + step, step)))
    plt.ylim(0, max(1, top))


class StatsScreen(Section):
    SECTION = "stats"
    HELP = ("Your progress: reviews per day over the last 30 days, true retention by topic "
            "(first review of the day of items in review state), and how many items fall due "
            "on each of the next 30 days.",
            "你的进度：最近 30 天每天的复习数、各主题的真实保持率（复习状态条目当天的首次复习），"
            "以及未来 30 天每天到期的条目数。")
    BINDINGS = [Binding("r", "refresh", "Refresh")]

    def body(self) -> ComposeResult:
        with Grid(id="stats-grid"):
            yield Static(id="stats-summary")
            yield PlotextPlot(id="plot-daily")
            yield PlotextPlot(id="plot-retention")
            yield PlotextPlot(id="plot-forecast")

    def action_refresh(self) -> None:
        self.reload()

    def load(self) -> None:
        from studytool.content import TOPIC_LABELS
        from studytool.stats import compute_stats

        core = self.core
        now = self.study.clock()
        stats = compute_stats(core.store, core.content, now=now, config=core.config)
        cards = stats["cards"]
        t = RichText()
        t.append(self.t("Items ", "条目 "), style="bold")
        t.append(self.t(f"{cards['total']}: {cards['new']} new, {cards['learning']} learning, "
                        f"{cards['review']} review; {cards['due']} due\n",
                        f"{cards['total']}：新 {cards['new']}，学习中 {cards['learning']}，"
                        f"复习 {cards['review']}；到期 {cards['due']}\n"))
        t.append(self.t("Reviews ", "复习 "), style="bold")
        t.append(self.t(f"{stats['reviews']} in all, {stats['today']['reviews']} today\n",
                        f"共 {stats['reviews']} 次，今天 {stats['today']['reviews']} 次\n"))
        ret = stats.get("retention_30d")
        t.append(self.t("Retention (30 d) ", "保持率（30 天）"), style="bold")
        t.append(f"{ret:.0%}\n" if ret is not None else self.t("no data yet\n", "暂无数据\n"))
        t.append(self.t("Streak ", "连续 "), style="bold")
        t.append(self.t(f"{stats['streak_days']} day(s)\n", f"{stats['streak_days']} 天\n"))
        passed = sum(1 for e in stats["exercises"].values() if e["passed"])
        t.append(self.t("Exercises ", "练习 "), style="bold")
        t.append(f"{passed}/{len(stats['exercises'])}\n")
        t.append(self.t("Checklist ", "清单 "), style="bold")
        t.append(f"{stats['checklist']['done']}/{stats['checklist']['total']}\n")
        for i, topic in enumerate(stats.get("topics", {}), 1):
            t.append(f"T{i} ", style="bold")
            t.append(TOPIC_LABELS[topic][1 if self.lang == "zh" else 0] + "  ", style="dim")
        self.query_one("#stats-summary", Static).update(t)

        daily = stats["reviews_per_day_30d"]
        p = self.query_one("#plot-daily", PlotextPlot)
        plt = p.plt
        plt.clear_data()
        plt.clear_figure()
        plt.bar(list(range(-29, 1)), daily, marker="hd")
        plt.title(self.t("Reviews per day (last 30)", "每天复习数（近 30 天）"))
        plt.xticks([-29, -20, -10, 0])
        _int_yticks(plt, daily)
        p.refresh()

        p = self.query_one("#plot-retention", PlotextPlot)
        plt = p.plt
        plt.clear_data()
        plt.clear_figure()
        topics = stats.get("topics", {})
        names, values = [], []
        for i, (topic, d) in enumerate(topics.items(), 1):
            names.append(f"T{i}")
            values.append(round(100 * (d.get("retention_30d") or 0)))
        plt.bar(names, values, marker="hd")
        plt.ylim(0, 100)
        plt.yticks([0, 25, 50, 75, 100])
        plt.title(self.t("Retention % by topic (30 d)", "各主题保持率 %（30 天）"))
        p.refresh()
        p.tooltip = "\n".join(f"T{i}: {TOPIC_LABELS[k][1 if self.lang == 'zh' else 0]}"
                              for i, k in enumerate(topics, 1))

        p = self.query_one("#plot-forecast", PlotextPlot)
        plt = p.plt
        plt.clear_data()
        plt.clear_figure()
        plt.bar(list(range(30)), stats["forecast_30d"], marker="hd")
        plt.title(self.t("Due in the next 30 days", "未来 30 天到期"))
        plt.xticks([0, 10, 20, 29])
        _int_yticks(plt, stats["forecast_30d"])
        p.refresh()
