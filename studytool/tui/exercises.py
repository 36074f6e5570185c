"""5 · Exercises: the list with status; the prompt; start, edit in $EDITOR, check (in a worker that
never blocks the UI, per-test results shown as they arrive), the next hint, the solution once
passed, and a watch toggle that regrades on every save.

Grading goes through the warm grading client (:class:`studytool.grading.Grader`), a subprocess:
this process never imports torch.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import threading
from pathlib import Path

from rich.text import Text as RichText
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Markdown, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from studytool.tui.base import Section, guarded

STATUS_MARK = {"passed": ("✓", "green"), "failing": ("✗", "red"), "started": ("…", "yellow"),
               "not started": ("·", "grey62")}


class ExercisesScreen(Section):
    SECTION = "exercises"
    HELP = ("s starts the exercise (copies the starter into your workspace), e opens it in "
            "$EDITOR, c checks it, w regrades on every save, h shows the next hint, o the "
            "solution once you passed, g the figure.",
            "s 开始练习（把起始文件复制到你的工作区），e 用 $EDITOR 打开，c 检查，w 每次保存时自动重新评分，"
            "h 显示下一个提示，o 通过后查看参考答案，g 显示图示。")
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("e", "edit", "Edit"),
        Binding("c", "check", "Check"),
        Binding("h", "hint", "Hint"),
        Binding("w", "watch", "Watch"),
        Binding("g", "figure", "Figure"),
        Binding("o", "solution", "Solution"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.eid: str | None = None
        self.results: dict[str, dict] = {}  # the last (or running) result per exercise
        self.live: dict[str, list[dict]] = {}  # tests as they arrive
        self.checking: str | None = None
        self.watching: str | None = None
        self._watch_stop: threading.Event | None = None

    def body(self) -> ComposeResult:
        with Horizontal(classes="split"):
            yield OptionList(id="x-list", classes="side")
            with Vertical(classes="main"):
                with VerticalScroll(id="x-prompt-scroll"):
                    yield Markdown(id="x-prompt")
                yield Static(id="x-status")
                with VerticalScroll(id="x-results-scroll"):
                    yield Static(id="x-results")

    # ------------------------------------------------------------------ the core calls

    def _ws(self):
        from studytool import workspace

        return workspace

    def _path(self, eid: str) -> Path:
        return self._ws().workspace_file(eid)

    def _statuses(self) -> dict:
        # the exercises of the loaded content (a bad exercise directory is reported and left out)
        return {st.id: st for st in self._ws().statuses(self.core.store)
                if self.core.content.exercise(st.id) is not None}

    @staticmethod
    def _label(st) -> str:
        """The workspace status, with "started" for a not-yet-checked workspace file."""
        return "started" if st.status == "not started" and st.started else st.status

    def _meta(self, eid: str):
        return self.core.content.exercise(eid)

    # ------------------------------------------------------------------ loading

    def load(self) -> None:
        exercises = sorted(self._statuses().values(), key=lambda e: e.order)
        ol = self.query_one("#x-list", OptionList)
        keep = ol.highlighted
        ol.clear_options()
        for e in exercises:
            st = self._label(e)
            mark, colour = STATUS_MARK[st]
            t = RichText()
            t.append(f"{mark} ", style=f"bold {colour}")
            t.append(f"{e.order}. {e.title.get(self.lang)}")
            if e.best and st != "passed":
                t.append(f" {e.best['passed']}/{e.best['total']}", style="dim")
            ol.add_option(Option(t, id=e.id))
        if not exercises:
            self.query_one("#x-status", Static).update(self.t("No exercises installed.",
                                                              "没有安装练习。"))
            return
        ol.highlighted = keep if keep is not None else 0
        if self.eid is None:
            self.eid = exercises[0].id
        self.show()
        if self.focused is None:
            ol.focus()
        self.study.warm_grader()

    def select_item(self, item_id: str) -> None:
        ol = self.query_one("#x-list", OptionList)
        try:
            ol.highlighted = ol.get_option_index(item_id)
        except Exception:  # noqa: BLE001
            return
        self.eid = item_id
        self.show()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.eid:
            self.eid = event.option.id
            self.show()

    def show(self) -> None:
        if self.eid is None or self.core is None:
            return
        ex = self._meta(self.eid)
        self.query_one("#x-prompt", Markdown).update(ex.prompt(self.lang))
        self.query_one("#x-prompt-scroll", VerticalScroll).scroll_home(animate=False)
        self._show_status()
        self._show_results()
        self.refresh_bindings()

    def _show_status(self) -> None:
        ex = self._meta(self.eid)
        est = self._statuses()[ex.id]
        st = self._label(est)
        label = {"passed": self.t("passed", "已通过"), "failing": self.t("failing", "未通过"),
                 "started": self.t("started", "已开始"), "not started": self.t("not started", "未开始")}
        mark, colour = STATUS_MARK[st]
        t = RichText(no_wrap=True, overflow="ellipsis")
        t.append(f"{mark} {label[st]}", style=f"bold {colour}")
        if est.attempts:
            t.append(self.t(f" · {est.attempts} attempt(s)", f" · 尝试 {est.attempts} 次"))
        if self.checking == ex.id:
            n = len(self.live.get(ex.id, []))
            t.append(self.t(f" · checking… {n} test(s) so far", f" · 检查中… 已完成 {n} 项"),
                     style="bold yellow")
        if self.watching == ex.id:
            t.append(self.t(" · watching for saves", " · 正在监视保存"), style="bold magenta")
        path = self._path(ex.id)
        if path.exists():
            t.append(f" · {path}", style="dim")
        self.query_one("#x-status", Static).update(t)

    def _show_results(self) -> None:
        eid = self.eid
        t = RichText()
        if self.checking == eid:
            tests = self.live.get(eid, [])
            result = None
        else:
            result = self.results.get(eid)
            if result is None:
                attempts = self.core.store.exercise_attempts(eid)
                if attempts:
                    a = attempts[-1]
                    result = {"status": a.status, "passed": a.passed, "total": a.total,
                              "tests": a.tests, "duration_s": a.duration_s}
            tests = result["tests"] if result else []
        if result is None and not tests and self.checking != eid:
            t.append(self.t("No results yet — s start, e edit, c check.",
                            "还没有结果——s 开始，e 编辑，c 检查。"), style="dim")
        for test in tests:
            ok = test.get("status") == "pass"
            t.append("✓ " if ok else ("✗ " if test.get("status") == "fail" else "! "),
                     style="bold green" if ok else "bold red")
            t.append(str(test.get("name", "")))
            if not ok and test.get("message"):
                t.append("\n    " + str(test["message"]).replace("\n", "\n    "), style="red")
            t.append("\n")
        if result is not None:
            colour = "green" if result["status"] == "pass" else "red"
            t.append(self.t(f"{result['passed']}/{result['total']} passed",
                            f"通过 {result['passed']}/{result['total']}"), style=f"bold {colour}")
            t.append(f" · {float(result.get('duration_s') or 0):.2f} s", style="dim")
        self.query_one("#x-results", Static).update(t)

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.core is None or self.eid is None:
            return False if action in {b.action for b in self.BINDINGS} else True
        started = self._path(self.eid).exists()
        if action == "start":
            return not started  # starting again keeps the work: nothing to offer
        if action in ("edit", "check", "watch"):
            if action == "check" and self.checking == self.eid:
                return None  # shown, but disabled while a check runs
            return started
        if action == "figure":
            from studytool.tui.figures import figures_for

            return bool(figures_for(self.core.content, self.eid))
        if action == "solution":
            return self._ws().has_passed(self.eid, self.core.store)
        if action == "hint":
            return bool(self._meta(self.eid).hints)
        return True

    @guarded
    def action_start(self) -> None:
        path, copied = self._ws().start(self.eid)
        if copied:
            self.notify(self.t(f"Started: {path} — e edits it, c checks it",
                               f"已开始：{path} — e 编辑，c 检查"))
        else:
            self.notify(self.t(f"Already started (your work is kept): {path}",
                               f"已经开始（保留你的代码）：{path}"))
        self.load()

    @guarded
    def action_edit(self) -> None:
        path = self._path(self.eid)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            editor = next((e for e in ("nano", "vim", "vi") if shutil.which(e)), None)
        if not editor:
            self.notify(self.t(f"Set $EDITOR, or edit {path} yourself.",
                               f"请设置 $EDITOR，或自行编辑 {path}。"), severity="warning")
            return
        try:
            with self.app.suspend():
                subprocess.call([*shlex.split(editor), str(path)])
        except Exception as exc:  # noqa: BLE001 - e.g. SuspendNotSupported in a headless run
            self.notify(self.t(f"Could not open the editor ({type(exc).__name__}); edit {path}",
                               f"无法打开编辑器（{type(exc).__name__}）；请编辑 {path}"),
                        severity="warning")
            return
        self.refresh()
        if self.watching != self.eid:
            self.notify(self.t("Saved? Press c to check.", "保存了吗？按 c 检查。"))

    def action_check(self) -> None:
        if self.eid is not None:
            self.start_check(self.eid)

    def start_check(self, eid: str) -> None:
        if self.checking is not None:
            self.notify(self.t("A check is already running.", "已有检查在运行。"))
            return
        path = self._path(eid)
        if not path.exists():
            self.notify(self.t("Start the exercise first (s).", "请先开始练习（s）。"),
                        severity="warning")
            return
        self.checking = eid
        self.live[eid] = []
        self.results.pop(eid, None)
        if self.eid == eid:
            self._show_status()
            self._show_results()
        self.refresh_bindings()
        self.grade(eid, path)

    @work(thread=True, exclusive=True, group="grade", exit_on_error=False)
    def grade(self, eid: str, path: Path) -> dict:
        grader = self.study.get_grader()

        def on_test(ev: dict) -> None:
            self.app.call_from_thread(self._test_arrived, eid, ev)

        return grader.check(eid, path, on_test=on_test)

    def _test_arrived(self, eid: str, ev: dict) -> None:
        self.live.setdefault(eid, []).append(ev)
        if self.eid == eid:
            self._show_status()
            self._show_results()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "grade":
            return
        if event.state == WorkerState.SUCCESS:
            result = event.worker.result
            eid = result.get("exercise", self.checking)
            self.results[eid] = result
            self.checking = None
            if result["status"] == "pass":
                self.notify(self.t(f"All {result['total']} tests passed!",
                                   f"全部 {result['total']} 项测试通过！"), title=eid)
            self.load()
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            # the app turns the error itself into a notification
            self.checking = None
            if self.eid is not None:
                self._show_status()
                self._show_results()
            self.refresh_bindings()

    @guarded
    def action_hint(self) -> None:
        from studytool.tui.widgets import TextDialog

        ex = self._meta(self.eid)
        shown, total, _text = self._ws().next_hint(ex.id, self.core.store)
        lines = [f"{n}. {h.get(self.lang)}" for n, h in enumerate(ex.hints[:shown], 1)]
        more = total - shown
        if more:
            lines.append(self.t(f"\n({more} more — press h again)", f"\n（还有 {more} 个——再按 h）"))
        self.app.push_screen(TextDialog(self.t(f"Hints ({shown}/{len(ex.hints)})",
                                               f"提示（{shown}/{len(ex.hints)}）"),
                                        "\n\n".join(lines)))

    @guarded
    def action_solution(self) -> None:
        from studytool.tui.widgets import TextDialog

        if not self._ws().has_passed(self.eid, self.core.store):
            self.notify(self.t("The solution opens once you have passed.", "通过之后才能查看参考答案。"))
            return
        text = self._ws().solution_source(self.eid)
        self.app.push_screen(TextDialog(self.t("Reference solution", "参考答案"),
                                        f"```python\n{text}\n```", markdown=True))

    def action_figure(self) -> None:
        from studytool.tui.figures import figure, figures_for, learner_panel
        from studytool.tui.widgets import FigureScreen

        figs = []
        for kind in figures_for(self.core.content, self.eid):
            f = figure(kind)
            mine = learner_panel(self.results.get(self.eid), kind)
            if mine is not None:
                from dataclasses import replace

                f = replace(f, panels=[f.panels[0], mine])
            figs.append(f)
        if figs:
            self.app.push_screen(FigureScreen(figs, self.lang))

    def action_watch(self) -> None:
        if self.watching is not None:
            if self._watch_stop is not None:
                self._watch_stop.set()
            was = self.watching
            self.watching = None
            self.notify(self.t(f"Stopped watching {was}", f"停止监视 {was}"))
        else:
            path = self._path(self.eid)
            self.watching = self.eid
            self._watch_stop = threading.Event()
            self.watch_file(self.eid, path, self._watch_stop)
            self.notify(self.t("Watching: every save is checked (w stops).",
                               "监视中：每次保存都会检查（w 停止）。"))
        self._show_status()

    @work(thread=True, group="watch", exit_on_error=False)
    def watch_file(self, eid: str, path: Path, stop: threading.Event) -> None:
        from watchfiles import watch

        for changes in watch(path.parent, stop_event=stop, debounce=300, rust_timeout=500,
                             yield_on_timeout=False):
            if any(Path(p) == path for _, p in changes):
                self.app.call_from_thread(self._changed, eid)

    def _changed(self, eid: str) -> None:
        if self.watching == eid and self.checking is None:
            self.start_check(eid)

    def on_unmount(self) -> None:
        if self._watch_stop is not None:
            self._watch_stop.set()
