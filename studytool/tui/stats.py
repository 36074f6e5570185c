"""7 · Stats: the numbers of `studytool stats`, and plots — reviews per day, retention by topic,
the 30-day forecast (textual-plotext)."""

from __future__ import annotations

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import Static
from textual_plotext import PlotextPlot

from studytool.textwrap_cjk import cell_width
from studytool.tui.base import Section
from studytool.tui.wrapping import Flow, Stack, Wrapped


def _int_yticks(plt, values: list[int]) -> None:
    top = max(values, default=0)
    step = max(1, -(-top // 4))
    plt.yticks(list(range(0, top + step, step)))
    plt.ylim(0, max(1, top))


class StatsScreen(Section):
    SECTION = "stats"
    HELP = (
        "Your progress: reviews per day over the last 30 days, true retention by topic "
        "(first review of the day of items in review state), and how many items fall due "
        "on each of the next 30 days.",
        "你的进度：最近 30 天每天的复习数、各主题的真实保持率（复习状态条目当天的首次复习），"
        "以及未来 30 天每天到期的条目数。",
    )
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
        self.compute_in_worker()  # the numbers in a thread; fill() draws them

    def compute(self) -> dict:
        from studytool.stats import compute_stats

        core = self.core
        return compute_stats(core.store, core.content, now=self.study.clock(), config=core.config)

    def _row(self, label: str, value: str) -> Wrapped:
        t = RichText()
        t.append(label, style="bold")
        t.append(value)
        return Wrapped(t, indent=cell_width(label))  # a wrapped value stays under itself

    def fill(self, stats: dict) -> None:
        from studytool.content import TOPIC_LABELS

        self.stats = stats
        cards = stats["cards"]
        rows = [
            self._row(
                self.t("Items ", "条目 "),
                self.t(
                    f"{cards['total']}: {cards['new']} new, {cards['learning']} learning, "
                    f"{cards['review']} review; {cards['due']} due",
                    f"{cards['total']}：新 {cards['new']}，学习中 {cards['learning']}，"
                    f"复习 {cards['review']}；到期 {cards['due']}",
                ),
            ),
            self._row(
                self.t("Reviews ", "复习 "),
                self.t(
                    f"{stats['reviews']} in all, {stats['today']['reviews']} today",
                    f"共 {stats['reviews']} 次，今天 {stats['today']['reviews']} 次",
                ),
            ),
        ]
        ret = stats.get("retention_30d")
        rows.append(
            self._row(
                self.t("Retention (30 d) ", "保持率（30 天）"),
                f"{ret:.0%}" if ret is not None else self.t("no data yet", "暂无数据"),
            )
        )
        rows.append(
            self._row(
                self.t("Streak ", "连续 "),
                self.t(f"{stats['streak_days']} day(s)", f"{stats['streak_days']} 天"),
            )
        )
        passed = sum(1 for e in stats["exercises"].values() if e["passed"])
        rows.append(self._row(self.t("Exercises ", "练习 "), f"{passed}/{len(stats['exercises'])}"))
        rows.append(
            self._row(
                self.t("Checklist ", "清单 "), f"{stats['checklist']['done']}/{stats['checklist']['total']}"
            )
        )
        # the topic legend of the retention chart: an entry never breaks inside (no-break spaces)
        legend = []
        for i, topic in enumerate(stats.get("topics", {}), 1):
            name = TOPIC_LABELS[topic][1 if self.lang == "zh" else 0]
            legend.append(RichText.assemble((f"T{i} ", "bold"), (name, "dim")))
        rows.append(Flow(legend))
        self.query_one("#stats-summary", Static).update(Stack(rows))

        daily = stats["reviews_per_day_30d"]
        p = self.query_one("#plot-daily", PlotextPlot)
        plt = p.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(
            self.t("Reviews per day (last 30)", "每天复习数（近 30 天）")
            if any(daily)
            else self.t("Reviews per day: no data yet", "每天复习数：暂无数据")
        )
        if any(daily):
            plt.bar(list(range(-29, 1)), daily, marker="hd")
            plt.xticks([-29, -20, -10, 0])
            _int_yticks(plt, daily)
        else:
            self._no_data(plt)
        p.refresh()

        p = self.query_one("#plot-retention", PlotextPlot)
        plt = p.plt
        plt.clear_data()
        plt.clear_figure()
        topics = stats.get("topics", {})
        names, values, known = [], [], False
        for i, d in enumerate(topics.values(), 1):
            names.append(f"T{i}")
            values.append(round(100 * (d.get("retention_30d") or 0)))
            known = known or d.get("retention_30d") is not None
        plt.title(
            self.t("Retention % by topic (30 d)", "各主题保持率 %（30 天）")
            if known
            else self.t("Retention by topic: no data yet", "各主题保持率：暂无数据")
        )
        if known:
            plt.bar(names, values, marker="hd")
            plt.ylim(0, 100)
            plt.yticks([0, 25, 50, 75, 100])
        else:
            self._no_data(plt)
        p.refresh()
        p.tooltip = "\n".join(
            f"T{i}: {TOPIC_LABELS[k][1 if self.lang == 'zh' else 0]}" for i, k in enumerate(topics, 1)
        )

        p = self.query_one("#plot-forecast", PlotextPlot)
        plt = p.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(
            self.t("Due in the next 30 days", "未来 30 天到期")
            if any(stats["forecast_30d"])
            else self.t("Due in 30 days: no data yet", "未来 30 天到期：暂无数据")
        )
        if any(stats["forecast_30d"]):
            plt.bar(list(range(30)), stats["forecast_30d"], marker="hd")
            plt.xticks([0, 10, 20, 29])
            _int_yticks(plt, stats["forecast_30d"])
        else:
            self._no_data(plt)
        p.refresh()

    def _no_data(self, plt) -> None:
        """An empty chart says so in its title (plotext counts characters, not cells: Chinese
        inside the frame would break it), and draws no axes."""
        plt.xticks([])
        plt.yticks([])
