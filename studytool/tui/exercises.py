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
from dataclasses import replace
from pathlib import Path

from rich.text import Text as RichText
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from studytool.tui.base import Section, guarded
from studytool.tui.wrapping import Wrapped

STATUS_MARK = {
    "passed": ("✓", "green"),
    "failing": ("✗", "red"),
    "started": ("◐", "yellow"),
    "not started": ("○", "grey62"),
}


class ExercisesScreen(Section):
    SECTION = "exercises"
    HELP = (
        "s starts the exercise (copies the starter into your workspace), e opens it in "
        "$EDITOR, c checks it (esc cancels a running check), w regrades on every save, "
        "h shows the next hint (the one for the test that failed first), o the solution "
        "once you passed, n the next exercise, g the figure, d folds the description "
        "away or back after a check.",
        "s 开始练习（把起始文件复制到你的工作区），e 用 $EDITOR 打开，c 检查（esc 取消正在运行的检查），"
        "w 每次保存时自动重新评分，h 显示下一个提示（先给出针对失败测试的提示），o 通过后查看参考答案，"
        "n 下一个练习，g 显示图示，d 在检查后折叠或展开题目说明。",
    )
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("e", "edit", "Edit"),
        Binding("c", "check", "Check"),
        Binding("escape", "cancel_check", "Cancel check"),
        Binding("n", "next_exercise", "Next exercise"),
        Binding("h", "hint", "Hint"),
        Binding("o", "solution", "Solution"),
        Binding("g", "figure", "Figure"),
        Binding("d", "description", "Description", show=False),
        Binding("w", "watch", "Watch", show=False),
    ]

    REPORT_ERRORS = ("compute-", "grade", "watch")

    def __init__(self) -> None:
        super().__init__()
        self.eid: str | None = None
        self.results: dict[str, dict] = {}  # the last (or running) result per exercise
        self.live: dict[str, list[dict]] = {}  # tests as they arrive
        self.checking: str | None = None
        self.watching: str | None = None
        self._watch_stop: threading.Event | None = None
        self.note: str = ""  # a one-line message in the status line (never over the results)
        self.unfold: set[str] = set()  # exercises whose description is shown beside results
        self._cancelling: str | None = None

    def body(self) -> ComposeResult:
        with Horizontal(classes="split"):
            yield OptionList(id="x-list", classes="side")
            with Vertical(id="x-main", classes="main"):
                with VerticalScroll(id="x-prompt-scroll"):
                    yield Static(id="x-prompt")
                yield Static(id="x-fold")
                yield Static(id="x-status")
                with VerticalScroll(id="x-results-scroll"):
                    yield Static(id="x-results")
                    yield Horizontal(id="x-figure")

    # ------------------------------------------------------------------ the core calls

    def _ws(self):
        from studytool import workspace

        return workspace

    def _path(self, eid: str) -> Path:
        return self._ws().workspace_file(eid)

    def _statuses(self) -> dict:
        # the exercises of the loaded content (a bad exercise directory is reported and left out)
        return {
            st.id: st
            for st in self._ws().statuses(self.core.store)
            if self.core.content.exercise(st.id) is not None
        }

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
            ol.add_option(Option(Wrapped(t, indent=2 + len(f"{e.order}. ")), id=e.id))
        if not exercises:
            self.query_one("#x-status", Static).update(self.t("No exercises installed.", "没有安装练习。"))
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
        if getattr(self, "_prompt_shown", None) != (ex.id, self.lang):
            self._prompt_shown = (ex.id, self.lang)
            from studytool.tui.mdtext import markdown_blocks

            self.query_one("#x-prompt", Static).update(markdown_blocks(ex.prompt(self.lang)))
            self.query_one("#x-prompt-scroll", VerticalScroll).scroll_home(animate=False)
        self._show_status()
        self._show_results()
        self.refresh_bindings()

    def _fold(self, has_results: bool) -> None:
        """After a check the results get the room and the description folds away (d unfolds)."""
        folded = has_results and self.eid not in self.unfold
        self.query_one("#x-main").set_class(folded, "-results")
        self.query_one("#x-fold", Static).update(
            RichText(
                self.t("▸ description folded — d shows it", "▸ 题目说明已折叠——按 d 展开"), style="dim italic"
            )
        )

    def _show_status(self) -> None:
        ex = self._meta(self.eid)
        est = self._statuses()[ex.id]
        st = self._label(est)
        label = {
            "passed": self.t("passed", "已通过"),
            "failing": self.t("failing", "未通过"),
            "started": self.t("started", "已开始"),
            "not started": self.t("not started", "未开始"),
        }
        mark, colour = STATUS_MARK[st]
        t = RichText(no_wrap=True, overflow="ellipsis")
        t.append(f"{mark} {label[st]}", style=f"bold {colour}")
        if est.attempts:
            t.append(self.t(f" · {est.attempts} attempt(s)", f" · 尝试 {est.attempts} 次"))
        if self.checking == ex.id:
            n = len(self.live.get(ex.id, []))
            t.append(
                self.t(f" · checking… {n} test(s) so far", f" · 检查中… 已完成 {n} 项"), style="bold yellow"
            )
        if self.watching == ex.id:
            t.append(self.t(" · watching for saves", " · 正在监视保存"), style="bold magenta")
        if self.checking == ex.id:
            t.append(self.t(" · esc cancels", " · esc 取消"), style="dim")
        elif self.note:
            t.append(" · " + self.note, style="bold")
        self.query_one("#x-status", Static).update(t)

    def _result(self, eid: str) -> dict | None:
        """The last result of ``eid``: this session's, or the stored last attempt."""
        result = self.results.get(eid)
        if result is None:
            attempts = self.core.store.exercise_attempts(eid)
            if attempts:
                a = attempts[-1]
                result = {
                    "status": a.status,
                    "passed": a.passed,
                    "total": a.total,
                    "tests": a.tests,
                    "duration_s": a.duration_s,
                }
        return result

    def _failing(self, eid: str) -> list[str]:
        result = None if self.checking == eid else self._result(eid)
        if not result or result.get("status") == "pass":
            return []
        return [str(t.get("name")) for t in result.get("tests") or [] if t.get("status") != "pass"]

    def _show_results(self) -> None:
        eid = self.eid
        t = RichText()
        if self.checking == eid:
            tests = self.live.get(eid, [])
            result = None
        else:
            result = self._result(eid)
            tests = result["tests"] if result else []
        if result is None and not tests and self.checking != eid:
            path = self._path(eid)
            if path.exists():
                t.append(
                    self.t(
                        f"No results yet — e edits {path}, c checks it.",
                        f"还没有结果——e 编辑 {path}，c 检查。",
                    ),
                    style="dim",
                )
            else:
                t.append(
                    self.t("No results yet — s starts the exercise.", "还没有结果——按 s 开始练习。"),
                    style="dim",
                )
        blocks: list = []
        if result is not None:
            colour = "green" if result["status"] == "pass" else "red"
            head = RichText()
            head.append(
                self.t(
                    f"{result['passed']}/{result['total']} passed",
                    f"通过 {result['passed']}/{result['total']}",
                ),
                style=f"bold {colour}",
            )
            head.append(f" · {float(result.get('duration_s') or 0):.2f} s", style="dim")
            if result["status"] == "pass" and self._next_id() is not None:
                head.append(self.t(" · n: next exercise", " · n：下一个练习"), style="bold")
            blocks.append(head)
        # failing tests first: they are what the learner has to read
        for test in sorted(tests, key=lambda x: x.get("status") == "pass"):
            ok = test.get("status") == "pass"
            line = RichText()
            line.append(
                "✓ " if ok else ("✗ " if test.get("status") == "fail" else "! "),
                style="bold green" if ok else "bold red",
            )
            line.append(str(test.get("name", "")))
            blocks.append(Wrapped(line, indent=2))
            if test.get("message"):  # a pass says what was measured; a fail names the fault
                msg = RichText(str(test["message"]), style="dim" if ok else "red")
                blocks.append(Wrapped(RichText("    ") + msg, indent=4))
        depth = depth_figure(result, self.lang)
        if depth is not None:
            blocks.append(depth)
        if not blocks:
            blocks.append(t)
        elif t.plain:
            blocks.insert(0, t)
        from studytool.tui.wrapping import Stack

        self.query_one("#x-results", Static).update(Stack(blocks))
        self._fold(result is not None or self.checking == eid)
        self._show_figure(result)

    def _show_figure(self, result: dict | None) -> None:
        """After a failed check, the exercise's figure: the learner's output beside the reference."""
        from studytool.tui.figures import figure, figures_for, learner_panel
        from studytool.tui.widgets import Heatmap

        box = self.query_one("#x-figure", Horizontal)
        key = (self.eid, id(result), self.size.width)
        if getattr(self, "_figure_key", None) == key:
            return
        self._figure_key = key
        box.remove_children()
        if not result or result.get("status") == "pass":
            return
        kinds = figures_for(self.core.content, self.eid)
        if not kinds:
            return
        from studytool.tui.widgets import localized_panel

        ref = figure(kinds[0])
        panels = [ref.panels[0]]
        mine = learner_panel(result, kinds[0])
        if mine is not None:
            panels = [replace(ref.panels[0], title="reference"), mine]
        panels = [localized_panel(p, self.lang) for p in panels]
        width = max(8, (box.size.width or (self.size.width - 34)) // len(panels) - 2)
        box.mount_all(
            [Heatmap(p, max_cols=width, max_rows=2 * width, classes="figure-panel") for p in panels]
        )

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.core is None or self.eid is None:
            return False if action in {b.action for b in self.BINDINGS} else True
        started = self._path(self.eid).exists()
        if action == "start":
            return not started  # starting again keeps the work: nothing to offer
        if action == "cancel_check":
            return self.checking is not None
        if action in ("edit", "check", "watch"):
            if action == "check" and self.checking == self.eid:
                return None  # shown, but disabled while a check runs
            return started
        if action == "figure":
            from studytool.tui.figures import figures_for

            return bool(figures_for(self.core.content, self.eid))
        if action == "solution":
            return self._ws().has_passed(self.eid, self.core.store)
        if action == "next_exercise":
            return self._ws().has_passed(self.eid, self.core.store) and self._next_id() is not None
        if action == "description":
            return self._result(self.eid) is not None
        if action == "hint":
            return bool(self._meta(self.eid).hints)
        return True

    def _next_id(self) -> str | None:
        """The exercise after this one that is not passed yet (rustlings' order), else the next."""
        order = sorted(self._statuses().values(), key=lambda e: e.order)
        ids = [e.id for e in order]
        if self.eid not in ids or len(ids) < 2:
            return None
        k = ids.index(self.eid)
        after = order[k + 1 :] + order[:k]
        return next((e.id for e in after if e.status != "passed"), None)

    @guarded
    def action_start(self) -> None:
        path, copied = self._ws().start(self.eid)
        self.note = self.t("e edits, c checks", "e 编辑，c 检查")
        if not copied:
            self.notify(
                self.t(f"Already started (your work is kept): {path}", f"已经开始（保留你的代码）：{path}")
            )
        self.load()
        self.refresh_bindings()  # e and c are offered at once

    @guarded
    def action_edit(self) -> None:
        path = self._path(self.eid)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            editor = next((e for e in ("nano", "vim", "vi") if shutil.which(e)), None)
        if not editor:
            self.notify(
                self.t(f"Set $EDITOR, or edit {path} yourself.", f"请设置 $EDITOR，或自行编辑 {path}。"),
                severity="warning",
            )
            return
        try:
            with self.app.suspend():
                subprocess.call([*shlex.split(editor), str(path)])
        except Exception as exc:  # noqa: BLE001 - e.g. SuspendNotSupported in a headless run
            self.notify(
                self.t(
                    f"Could not open the editor ({type(exc).__name__}); edit {path}",
                    f"无法打开编辑器（{type(exc).__name__}）；请编辑 {path}",
                ),
                severity="warning",
            )
            return
        self.refresh()
        if self.watching != self.eid:
            # in the status line: a toast would cover the results
            self.note = self.t("Saved? Press c to check.", "保存了吗？按 c 检查。")
            self._show_status()

    def action_check(self) -> None:
        if self.eid is not None:
            self.start_check(self.eid)

    def start_check(self, eid: str) -> None:
        if self.checking is not None:
            self.notify(self.t("A check is already running.", "已有检查在运行。"))
            return
        path = self._path(eid)
        if not path.exists():
            self.notify(self.t("Start the exercise first (s).", "请先开始练习（s）。"), severity="warning")
            return
        self.checking = eid
        self.note = ""
        self.live[eid] = []
        self.results.pop(eid, None)
        self.unfold.discard(eid)
        if self.eid == eid:
            self._show_status()
            self._show_results()
        self.refresh_bindings()
        self.grade(eid, path)

    @work(thread=True, exclusive=True, group="grade", exit_on_error=False)
    def grade(self, eid: str, path: Path) -> dict:
        from studytool.grading import GradingError

        grader = self.study.get_grader()

        def on_test(ev: dict) -> None:
            self.app.call_from_thread(self._test_arrived, eid, ev)

        try:
            return grader.check(eid, path, on_test=on_test)
        except GradingError:
            if self._cancelling == eid:  # esc: the service was stopped on purpose
                return {"exercise": eid, "status": "cancelled"}
            raise

    def _test_arrived(self, eid: str, ev: dict) -> None:
        self.live.setdefault(eid, []).append(ev)
        if self.eid == eid:
            self._show_status()
            self._show_results()

    def action_cancel_check(self) -> None:
        """esc while a check runs: stop it (the grading service restarts on the next check)."""
        eid = self.checking
        if eid is None:
            return
        self._cancelling = eid
        grader = self.study.grader
        if grader is not None and hasattr(grader, "cancel"):
            threading.Thread(target=grader.cancel, daemon=True).start()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # (Section.on_worker_state_changed also runs: Textual calls each class's handler)
        if event.worker.group != "grade":
            return
        if event.state == WorkerState.SUCCESS:
            result = event.worker.result
            eid = result.get("exercise", self.checking)
            self.checking = None
            self._cancelling = None
            if result.get("status") == "cancelled":
                self.live.pop(eid, None)
                self.note = self.t("check cancelled", "检查已取消")
                self.notify(self.t("Check cancelled.", "检查已取消。"), title=eid)
                self.load()
                return
            self.results[eid] = result
            if result["status"] == "pass":
                self._passed(eid, result)
            self.load()
        elif event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            # the app turns the error itself into a notification
            self.checking = None
            self._cancelling = None
            if self.eid is not None:
                self._show_status()
                self._show_results()
            self.refresh_bindings()

    def _passed(self, eid: str, result: dict) -> None:
        """A pass: say so, name the checklist item it ticked, and offer the next exercise."""
        from studytool.checklist import checklist_status

        meta = self._meta(eid)
        ticked = []
        try:
            done = {s.item.id: s for s in checklist_status(self.core.store, self.core.content)}
            for cid in meta.checklist:
                st = done.get(cid)
                if st is not None and st.done:
                    ticked.append(f"{cid} “{st.item.text.get(self.lang)}”")
        except Exception:  # noqa: BLE001 - the message is a courtesy
            pass
        msg = self.t(f"All {result['total']} tests passed!", f"全部 {result['total']} 项测试通过！")
        if ticked:
            msg += self.t(" Checklist ticked: ", "已勾选清单：") + self.t("; ", "；").join(ticked)
        if self._next_id() is not None:
            msg += self.t("\nn opens the next exercise.", "\n按 n 打开下一个练习。")
        ids = [c.split()[0] for c in ticked]
        self.note = (
            self.t(f"checklist ticked: {', '.join(ids)}", f"已勾选清单 {'、'.join(ids)}") if ids else ""
        )
        self.notify(msg, title=eid, timeout=6)

    def action_next_exercise(self) -> None:
        nxt = self._next_id()
        if nxt is not None:
            self.note = ""
            self.select_item(nxt)
            self.query_one("#x-list", OptionList).focus()

    def action_description(self) -> None:
        if self.eid in self.unfold:
            self.unfold.discard(self.eid)
        else:
            self.unfold.add(self.eid)
        self._show_results()

    def _hint_list(self) -> list:
        """The hints in the order they help now: those for the tests that failed first."""
        from studytool import content as content_mod

        meta = self._meta(self.eid)
        failing = self._failing(self.eid)
        fn = getattr(content_mod, "hints_for_failure", None)
        if fn is not None:
            return list(fn(meta, failing))
        return list(meta.hints)

    def _hint_body(self, hints: list, shown: int) -> tuple[str, str, str]:
        lines = [f"{n}. {h.get(self.lang)}" for n, h in enumerate(hints[:shown], 1)]
        more = len(hints) - shown
        keys = self.t("esc close", "esc 关闭")
        if more:
            keys = self.t(
                f"h next hint ({more} more) · esc close", f"h 下一个提示（还有 {more} 个）· esc 关闭"
            )
        if self._failing(self.eid) and shown:
            lines.insert(
                0,
                self.t(
                    f"For the failing test {self._failing(self.eid)[0]}:",
                    f"针对未通过的测试 {self._failing(self.eid)[0]}：",
                ),
            )
        return (
            self.t(f"Hints ({shown}/{len(hints)})", f"提示（{shown}/{len(hints)}）"),
            "\n\n".join(lines),
            keys,
        )

    @guarded
    def action_hint(self) -> None:
        """The hints seen so far; the first one if none was. A hint counts only once it is shown:
        `h` in the dialog shows (and counts) the next."""
        from studytool.tui.widgets import HintDialog

        eid = self.eid
        store = self.core.store
        hints = self._hint_list()
        if not hints:
            return
        shown = min(store.hints_shown(eid), len(hints))
        if shown == 0:
            shown = min(store.bump_hint(eid), len(hints))

        def next_hint():
            n = min(store.hints_shown(eid), len(hints))
            if n < len(hints):
                n = min(store.bump_hint(eid), len(hints))
            return self._hint_body(hints, n)

        self.app.push_screen(
            HintDialog(
                *self._hint_body(hints, shown)[:2],
                next_hint,
                lang=self.lang,
                keys=self._hint_body(hints, shown)[2],
            )
        )

    @guarded
    def action_solution(self) -> None:
        from studytool.tui.widgets import TextDialog

        if not self._ws().has_passed(self.eid, self.core.store):
            self.notify(self.t("The solution opens once you have passed.", "通过之后才能查看参考答案。"))
            return
        text = self._ws().solution_source(self.eid)
        self.app.push_screen(
            TextDialog(
                self.t("Reference solution", "参考答案"),
                f"```python\n{text}\n```",
                markdown=True,
                lang=self.lang,
            )
        )

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
            self.notify(
                self.t("Watching: every save is checked (w stops).", "监视中：每次保存都会检查（w 停止）。")
            )
        self._show_status()

    @work(thread=True, group="watch", exit_on_error=False)
    def watch_file(self, eid: str, path: Path, stop: threading.Event) -> None:
        from watchfiles import watch

        for changes in watch(
            path.parent, stop_event=stop, debounce=300, rust_timeout=500, yield_on_timeout=False
        ):
            if any(Path(p) == path for _, p in changes):
                self.app.call_from_thread(self._changed, eid)

    def _changed(self, eid: str) -> None:
        if self.watching == eid and self.checking is None:
            self.start_check(eid)

    def on_unmount(self) -> None:
        if self._watch_stop is not None:
            self._watch_stop.set()


def depth_figure(result: dict | None, lang: str = "en") -> RichText | None:
    """prenorm_postnorm's figure: the last layer's gradient norm against depth for Pre-LN and
    Post-LN (Xiong et al. 2020, Theorem 1), as bars the learner can read at 80 columns."""
    figs = (result or {}).get("figures") or {}
    data = next(
        (
            f["grad_norm_by_depth"]
            for f in figs.values()
            if isinstance(f, dict) and isinstance(f.get("grad_norm_by_depth"), dict)
        ),
        None,
    )
    if data is None:
        return None
    try:
        depths = [int(d) for d in data["depths"]]
        rows = [
            ("Pre-LN ", [float(x) for x in data["pre_ln"]], data.get("slope_pre_ln")),
            ("Post-LN", [float(x) for x in data["post_ln"]], data.get("slope_post_ln")),
        ]
    except (KeyError, TypeError, ValueError):
        return None
    top = max(max(v) for _, v, _ in rows) or 1.0
    ticks = "▁▂▃▄▅▆▇█"
    t = RichText()
    t.append(
        "‖∂L/∂W2‖ of the last layer against depth L\n"
        if lang != "zh"
        else "最后一层的 ‖∂L/∂W2‖ 随深度 L 的变化\n",
        style="bold",
    )
    t.append("L      " + "".join(f"{d:>6}" for d in depths) + "\n", style="dim")
    for name, values, _ in rows:
        t.append(name)
        t.append("".join(f"{v:6.3f}" for v in values) + "  ")
        t.append(
            "".join(ticks[min(7, int(8 * v / top))] for v in values) + "\n",
            style="cyan" if name.startswith("Pre") else "magenta",
        )
    slopes = [f"{name.strip()} {slope:+.2f}" for name, _, slope in rows if isinstance(slope, (int, float))]
    if slopes:
        t.append(("log-log slope: " if lang != "zh" else "对数斜率：") + ", ".join(slopes) + "\n")
    t.append(
        "Theorem 1 (Xiong et al. 2020): Post-LN's does not shrink with L; Pre-LN's "
        "scales like 1/√L (slope −0.5)."
        if lang != "zh"
        else "定理 1（Xiong 等，2020）：Post-LN 的不随 L 变小；Pre-LN 的约按 1/√L 缩小（斜率 −0.5）。",
        style="dim",
    )
    return t
