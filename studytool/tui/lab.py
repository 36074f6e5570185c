"""8 · Lab: pick an experiment, read its claim, run it (a progress bar; esc cancels), then plots, a
table and the paper's claim beside what was measured — the screens' view of `studytool lab`.

The run happens in a thread worker that calls the core (``studytool.lab.run_experiment``, which
starts the sandbox) and posts messages; the learner's code never runs in this process.
"""

from __future__ import annotations

import math
import threading

from rich.table import Table as RichTable
from rich.text import Text as RichText
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import OptionList, ProgressBar, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from studytool.tui.base import Section, focus_list, guarded
from studytool.tui.wrapping import Wrapped


class LabProgress(Message):
    def __init__(self, exp_id: str, done: int, total: int, stage: str) -> None:
        super().__init__()
        self.exp_id, self.done, self.total, self.stage = exp_id, done, total, stage


class LabScreen(Section):
    SECTION = "lab"
    HELP = (
        "Run the lecture's experiments on your own code: r runs the highlighted experiment "
        "(a minute or two), k runs a quick version (seconds, too small to judge the claim), "
        "n changes the seed, esc cancels a run. A component uses your code once its exercise "
        "has passed (the code of your latest passing attempt), the reference otherwise; your "
        "code runs only in the grader's sandbox.",
        "用你自己的代码运行本讲的实验：r 运行选中的实验（一两分钟），k 运行快速版本（几秒钟，"
        "规模太小，不足以判断论文结论），n 换随机种子，esc 取消运行。某个组件的练习通过后就用你的"
        "代码（最近一次通过的那份），否则用参考实现；你的代码只在评分沙箱里运行。",
    )
    BINDINGS = [
        Binding("r", "run(False)", "Run"),
        Binding("k", "run(True)", "Quick run"),
        Binding("n", "seed", "Seed"),
        Binding("escape", "cancel", "Cancel", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.seed = 0
        self.running: str | None = None
        self._cancel: threading.Event | None = None

    def body(self) -> ComposeResult:
        with Horizontal(classes="split"):
            yield OptionList(id="lab-list", classes="side")
            with Vertical(classes="main"):
                yield Static(id="lab-status")
                yield ProgressBar(id="lab-progress", show_eta=False)
                with VerticalScroll(id="lab-scroll"):
                    yield Static(id="lab-claim")
                    yield Static(id="lab-verdict")
                    yield PlotextPlot(id="lab-plot-0", classes="lab-plot")
                    yield PlotextPlot(id="lab-plot-1", classes="lab-plot")
                    yield PlotextPlot(id="lab-plot-2", classes="lab-plot")
                    yield Static(id="lab-tables")
                    yield Static(id="lab-caveats")

    # ------------------------------------------------------------------ data

    def _lab(self):
        from studytool import lab

        return lab

    def current(self) -> str | None:
        ol = self.query_one("#lab-list", OptionList)
        if ol.highlighted is None:
            return None
        return ol.get_option_at_index(ol.highlighted).id

    def load(self) -> None:
        lab = self._lab()
        full = lab.completed_experiments(self.core.store)  # the latest default (not quick) run
        ol = self.query_one("#lab-list", OptionList)
        keep = ol.highlighted
        ol.clear_options()
        for e in lab.EXPERIMENTS.values():
            r = full.get(e.id)
            mark = " " if r is None else "✓" if r.reproduced else "✗"
            ol.add_option(Option(f"{mark} {lab.SHORT_TITLES[e.id][self.lang]}", id=e.id))
        ol.highlighted = keep if keep is not None else 0
        if self.focused is None:
            focus_list(ol)
        self.show()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "lab-list":
            self.show()

    @guarded
    def show(self) -> None:
        lab = self._lab()
        eid = self.current()
        if eid is None:
            return
        e = lab.EXPERIMENTS[eid]
        store = self.core.store
        sources = {c: s.kind for c, s in lab.choose_sources(store, e).items()}
        t = RichText()
        t.append(e.title[self.lang] + "\n", style="bold")
        t.append(self.t("The paper's claim: ", "论文的结论："), style="bold")
        t.append(e.claim[self.lang] + "\n")
        t.append(self.t("Code: ", "代码："), style="bold")
        t.append("  ".join(f"{c} {lab.source_label(k, self.lang)}" for c, k in sources.items()))
        t.append(
            "\n"
            + self.t(
                f"Serves {', '.join(q.upper() for q in e.questions)}; checklist {', '.join(e.checklist)}.",
                f"对应 {'、'.join(q.upper() for q in e.questions)}；清单 {'、'.join(e.checklist)}。",
            ),
            style="dim",
        )
        self.query_one("#lab-claim", Static).update(Wrapped(t))
        done = lab.runs(store, eid)
        self.show_run(done[-1] if done else None)
        self._status()

    def _status(self, text: str | None = None) -> None:
        bar = self.query_one("#lab-progress", ProgressBar)
        bar.display = self.running is not None
        if text is None:
            if self.running:
                text = self.t("Running… esc cancels", "运行中……按 esc 取消")
            else:
                text = self.t(
                    f"r run · k quick run · n seed ({self.seed})",
                    f"r 运行 · k 快速运行 · n 种子（{self.seed}）",
                )
        self.query_one("#lab-status", Static).update(text)

    def show_run(self, run) -> None:
        lab = self._lab()
        verdict = self.query_one("#lab-verdict", Static)
        tables = self.query_one("#lab-tables", Static)
        caveats = self.query_one("#lab-caveats", Static)
        plots = [self.query_one(f"#lab-plot-{i}", PlotextPlot) for i in range(3)]
        if run is None:
            verdict.update(self.t("\nNot run yet.", "\n还没有运行过。"))
            tables.update("")
            caveats.update("")
            for p in plots:
                p.display = False
            return
        v = RichText("\n")
        when = run.finished_at.astimezone().strftime("%Y-%m-%d %H:%M")
        quick = self.t(", quick", "，快速") if run.quick else ""
        v.append(
            self.t(
                f"Run #{run.id}, {when}{quick}, seed {run.seed}, {run.duration_s:.0f} s\n",
                f"运行 #{run.id}，{when}{quick}，种子 {run.seed}，{run.duration_s:.0f} 秒\n",
            ),
            style="dim",
        )
        v.append(self.t("Code: ", "代码："), style="bold")
        v.append("  ".join(f"{c} {lab.source_label(k, self.lang)}" for c, k in run.sources.items()) + "\n")
        style = "bold green" if run.reproduced else "bold red" if run.status != "completed" else "bold yellow"
        v.append(self.t("Measured: ", "实测："), style="bold")
        v.append(lab.verdict_line(run, self.lang) + "\n", style=style)
        for f in run.verdict.get("findings", []):
            v.append("•\u00a0" + f.get(self.lang, f.get("en", "")) + "\n")
        if run.quick and run.status == "completed":
            v.append(
                self.t(
                    "A quick run checks the machinery; its numbers are too small to judge the claim.\n",
                    "快速运行只检查流程，数字太小，不足以判断论文结论。\n",
                ),
                style="italic",
            )
        verdict.update(Wrapped(v))
        series = lab.series(run, self.lang)
        for i, p in enumerate(plots):
            p.display = i < len(series)
            if i < len(series):
                self._plot(p, series[i])
        out = []
        for tb in lab.tables(run, self.lang):
            rt = RichTable(
                title=tb.title,
                title_justify="left",
                title_style="bold",
                show_edge=False,
                pad_edge=False,
                box=None,
            )
            for j, h in enumerate(tb.headers):
                rt.add_column(h, justify="left" if j == 0 else "right", no_wrap=True)
            for row in tb.rows:
                rt.add_row(*row)
            if out:
                out.append(RichText(""))
            out.append(rt)
        from rich.console import Group

        heat = lab.heatmap_lines(run, self.lang, per_row=3)
        if heat:
            out.append(RichText("\n" + heat[0], style="bold"))
            out.append(RichText("\n".join(heat[1:]), no_wrap=True, overflow="crop"))
        tables.update(Group(*out) if out else "")
        cav = run.verdict.get("caveats", [])
        c = RichText()
        if cav:
            c.append(self.t("What this run cannot show\n", "这次运行说明不了的\n"), style="bold")
            for item in cav:
                c.append("• " + item.get(self.lang, item.get("en", "")) + "\n")
        caveats.update(Wrapped(c))

    def _plot(self, widget: PlotextPlot, s) -> None:
        """Log axes are drawn by plotting log values with labelled ticks (plotext's own log scale
        failed on some data with a math domain error)."""
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        all_y: list[float] = []
        for name, ys in s.lines.items():
            pts = [(x, y) for x, y in zip(s.xs, ys) if y is not None and (not s.log or y > 0)]
            if not pts:
                continue
            xs = [math.log2(x) for x, _ in pts] if s.log else [x for x, _ in pts]
            yv = [math.log10(y) for _, y in pts] if s.log else [y for _, y in pts]
            all_y.extend(yv)
            plt.plot(xs, yv, label=name, marker="hd")
        if s.log:
            plt.xticks([math.log2(x) for x in s.xs], [str(x) for x in s.xs])
            if all_y:
                lo, hi = min(all_y), max(all_y)
                ticks = [lo + (hi - lo) * i / 3 for i in range(4)] if hi > lo else [lo]
                plt.yticks(ticks, [f"{10**t:.3g}" for t in ticks])
        else:
            plt.xticks(list(s.xs), [str(x) for x in s.xs])
        plt.title(s.title + (self.t(" (log scales)", "（对数坐标）") if s.log else ""))
        plt.xlabel(s.xlabel)
        widget.refresh()

    # ------------------------------------------------------------------ running

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running is not None
        if action in ("run", "seed"):
            return self.running is None
        return True

    @guarded
    def action_seed(self) -> None:
        self.seed = (self.seed + 1) % 10
        self._status()

    @guarded
    def action_run(self, quick: bool) -> None:
        eid = self.current()
        if eid is None or self.running is not None:
            return
        self.running = eid
        self._cancel = threading.Event()
        bar = self.query_one("#lab-progress", ProgressBar)
        bar.update(total=100, progress=0)
        self._status()
        self.refresh_bindings()
        self.run_lab(eid, quick, self.seed, self._cancel)

    def action_cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self._status(self.t("Cancelling…", "正在取消……"))

    @work(thread=True, exclusive=True, group="lab", exit_on_error=False)
    def run_lab(self, eid: str, quick: bool, seed: int, cancel: threading.Event):
        lab = self._lab()

        def progress(p: dict) -> None:
            self.post_message(LabProgress(eid, p["done"], p["total"], p["stage"]))

        from studytool.store import Store

        # a connection of its own: this thread's write never interleaves with the screens'
        with Store(self.core.store.path) as store:
            return lab.run_experiment(store, eid, quick=quick, seed=seed, on_progress=progress, cancel=cancel)

    def on_lab_progress(self, msg: LabProgress) -> None:
        if self.running != msg.exp_id:
            return
        self.query_one("#lab-progress", ProgressBar).update(total=msg.total, progress=msg.done)
        pct = 100 * msg.done // max(1, msg.total)
        # the stage comes from the sandbox in English: shown in English only
        self._status(self.t(f"Running: {msg.stage} — esc cancels", f"运行中：{pct}%——按 esc 取消"))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "lab" or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            return
        self.running = None
        self._cancel = None
        self.refresh_bindings()
        if event.state == WorkerState.SUCCESS:
            run = event.worker.result
            if run.status == "cancelled":
                self.notify(
                    self.t(
                        "Cancelled: the run is stored as cancelled, with no results.",
                        "已取消：这次运行记为“已取消”，没有任何结果。",
                    )
                )
            elif run.status == "failed":
                self.notify(
                    run.error or "", title=self.t("The run failed", "运行失败"), severity="error", timeout=10
                )
        elif event.state == WorkerState.ERROR:
            report = getattr(self.study, "report_worker", None)
            if report is not None:  # the app's one error notification, where the app has one
                report(event)
            else:
                self.notify(
                    str(event.worker.error),
                    title=self.t("The run failed", "运行失败"),
                    severity="error",
                    timeout=10,
                )
        self.reload()

    def on_unmount(self) -> None:
        if self._cancel is not None:  # leaving the app: the sandbox must not outlive it
            self._cancel.set()
