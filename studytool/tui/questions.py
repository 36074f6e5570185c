"""3 · Questions: Q13–Q24 by topic. Write an answer, reveal the model answer and key points, mark
what you recalled, and read the misconception checks that belong to the question."""

from __future__ import annotations

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import OptionList, Static, TextArea
from textual.widgets.option_list import Option

from studytool.tui.base import Section, guarded
from studytool.tui.widgets import KeyPoints
from studytool.tui.wrapping import Wrapped


class QuestionsScreen(Section):
    SECTION = "questions"
    HELP = (
        "Pick a question (enter), write your answer (esc when done), reveal the model answer "
        "(r: the keyboard moves to the answer, PageUp/PageDown scroll it), mark the key "
        "points you recalled (tab to them, ↑/↓ choose, space marks) and save (s). i / e open "
        "the linked insight / exercise, g its figure. The pane with the keyboard has a "
        "bright edge.",
        "选择问题（Enter），写下答案（完成后按 esc），显示参考答案（r：键盘移到答案，PageUp/PageDown "
        "滚动），标记回忆起的要点（tab 移到要点，↑/↓ 选择，空格标记）并保存（s）。i / e 打开关联的"
        "要点 / 练习，g 打开图示。拥有键盘的面板边缘会高亮。",
    )
    BINDINGS = [
        Binding("enter", "write", "Write", show=False),
        Binding("w", "write", "Write"),
        Binding("r", "reveal", "Reveal"),
        Binding("s", "save", "Save"),
        Binding("i", "insight", "Insight"),
        Binding("e", "exercise", "Exercise"),
        Binding("g", "figure", "Figure"),
        Binding("escape", "leave", "Done typing"),
        Binding("tab", "to_points", "Key points", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.qid: str | None = None
        self.revealed: set[str] = set()
        self.answers: dict[str, str] = {}

    def body(self) -> ComposeResult:
        with Horizontal(classes="split"):
            yield OptionList(id="q-list", classes="side")
            with VerticalScroll(id="q-detail", classes="main"):
                yield Static(id="q-text")
                yield TextArea(id="q-answer", soft_wrap=True)
                yield Static(id="q-model")
                yield KeyPoints(id="q-points")
                yield Static(id="q-after")

    # ------------------------------------------------------------------ loading

    def load(self) -> None:
        from studytool.content import TOPIC_LABELS, TOPICS

        core = self.core
        ol = self.query_one("#q-list", OptionList)
        keep = ol.highlighted
        ol.clear_options()
        options: list[Option | None] = []
        for topic in TOPICS:
            qs = [q for q in core.content.questions if q.topic == topic]
            if not qs:
                continue
            options.append(
                Option(
                    RichText(TOPIC_LABELS[topic][1 if self.lang == "zh" else 0], style="bold underline"),
                    disabled=True,
                )
            )
            for q in qs:
                done = " ✓" if self._attempted(q.id) else ""
                options.append(
                    Option(
                        Wrapped(f"Q{q.number} {q.title.get(self.lang)}{done}", indent=len(f"Q{q.number} ")),
                        id=q.id,
                    )
                )
        ol.add_options(options)
        if keep is not None:
            ol.highlighted = keep
        elif self.qid is None:
            first = next(i for i, o in enumerate(options) if o is not None and not o.disabled)
            ol.highlighted = first
        if self.qid is None and core.content.questions:
            self.qid = ol.get_option_at_index(ol.highlighted or 0).id
        self.show()
        if self.focused is None:
            ol.focus()

    def _attempted(self, qid: str) -> bool:
        return bool(self.core.store.question_attempts(qid))

    def select_item(self, item_id: str) -> None:
        ol = self.query_one("#q-list", OptionList)
        try:
            ol.highlighted = ol.get_option_index(item_id)
        except Exception:  # noqa: BLE001 - unknown id
            return
        self._open(item_id)
        ol.focus()

    def _open(self, qid: str | None) -> None:
        if qid is None or qid == self.qid:
            return
        self.answers[self.qid or ""] = self.query_one("#q-answer", TextArea).text
        self.qid = qid
        self.query_one("#q-answer", TextArea).text = self.answers.get(qid, "")
        self.query_one("#q-points", KeyPoints).clear()
        self.show()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self._open(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self._open(event.option.id)
            self.action_write()

    # ------------------------------------------------------------------ drawing

    def show(self) -> None:
        core = self.core
        if core is None or self.qid is None:
            return
        q = core.content.question(self.qid)
        lang = self.lang
        t = RichText()
        t.append(f"Q{q.number} ", style="bold yellow")
        t.append(q.title.get(lang) + "\n", style="bold")
        t.append(q.question.get(lang))
        self.query_one("#q-text", Static).update(Wrapped(t))
        area = self.query_one("#q-answer", TextArea)
        area.border_title = self.t(
            "Your answer — w to write, esc when done", "你的答案 — w 开始写，完成后按 esc"
        )
        revealed = self.qid in self.revealed
        model = self.query_one("#q-model", Static)
        points = self.query_one("#q-points", KeyPoints)
        after = self.query_one("#q-after", Static)
        model.display = points.display = revealed
        if not revealed:
            after.update(RichText(self.t("r  reveal the model answer", "r  显示参考答案"), style="dim"))
            self.refresh_bindings()
            return
        m = RichText()
        m.append(self.t("Model answer\n", "参考答案\n"), style="bold green")
        m.append(q.answer.get(lang))
        m.append(
            self.t(
                "\n\nKey points — mark what you recalled (tab to them, ↑/↓ choose, "
                "space marks), then s to save:",
                "\n\n要点——标记你回忆起的（tab 移到要点，↑/↓ 选择，空格标记），然后按 s 保存：",
            ),
            style="bold",
        )
        model.update(Wrapped(m))
        points.set_points([kp.get(lang) for kp in q.key_points])
        after.update(Wrapped(self._after_text(q), indent=2))
        self.refresh_bindings()

    def _after_text(self, q) -> RichText:
        core = self.core
        lang = self.lang
        t = RichText()
        checks = core.content.misconception_checks(q)
        if checks:
            t.append(self.t("\nMisconception checks\n", "\n误区检查\n"), style="bold magenta")
            for check in checks:
                verdict = self.t("True", "正确") if check.true else self.t("False", "错误")
                t.append("• " + check.statement.get(lang) + "  ")
                t.append(f"[{verdict}]", style="bold green" if check.true else "bold red")
                t.append("\n  " + check.explanation.get(lang) + "\n", style="italic")
        links = []
        for iid in q.insights:
            i = core.content.item(iid)
            if i is not None:
                links.append(
                    self.t(
                        f"insight {i.number}: {i.title.get(lang)}", f"要点 {i.number}：{i.title.get(lang)}"
                    )
                )
        for eid in q.exercises:
            e = core.content.exercise(eid)
            links.append(
                self.t(
                    f"exercise {e.title.get(lang) if e else eid}", f"练习 {e.title.get(lang) if e else eid}"
                )
            )
        if links:
            t.append(self.t("\nLinks: ", "\n关联："), style="bold")
            t.append("; ".join(links))
        attempts = core.store.question_attempts(q.id)
        if attempts:
            a = attempts[-1]
            t.append(
                self.t(
                    f"\nLast saved: {len(a.recalled)}/{a.total_points} key points",
                    f"\n上次保存：{len(a.recalled)}/{a.total_points} 个要点",
                ),
                style="dim",
            )
        return t

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        typing = self.typing()
        if action == "leave":
            return typing
        if action == "to_points":  # from the answer straight to its key points
            return self.qid in self.revealed and self.focused is not None and self.focused.id == "q-detail"
        if typing and action != "leave":
            return False
        if self.core is None or self.qid is None:
            return action == "leave"
        q = self.core.content.question(self.qid)
        if action == "reveal":
            return self.qid not in self.revealed
        if action == "save":
            return self.qid in self.revealed
        if action == "insight":
            return bool(q.insights)
        if action == "exercise":
            return bool(q.exercises) and any(self.core.content.exercise(e) for e in q.exercises)
        if action == "figure":
            from studytool.tui.figures import figures_for

            return bool(figures_for(self.core.content, self.qid))
        return True

    def action_to_points(self) -> None:
        self.query_one("#q-points", KeyPoints).focus()

    def action_write(self) -> None:
        self.query_one("#q-answer", TextArea).focus()

    def action_leave(self) -> None:
        self.query_one("#q-list", OptionList).focus()

    @guarded
    def action_reveal(self) -> None:
        if self.qid is None:
            return
        self.revealed.add(self.qid)
        self.show()
        # the keyboard goes to the answer: PageDown scrolls it, tab reaches the key points
        detail = self.query_one("#q-detail", VerticalScroll)
        detail.focus()
        self.call_after_refresh(detail.scroll_to_widget, self.query_one("#q-model"), animate=False, top=True)

    @guarded
    def action_save(self) -> None:
        from studytool.review import suggest_rating

        q = self.core.content.question(self.qid)
        points = self.query_one("#q-points", KeyPoints)
        recalled = sorted(points.selected)
        rating = suggest_rating(len(recalled), len(q.key_points))
        self.core.store.record_question_attempt(
            q.id, self.query_one("#q-answer", TextArea).text, recalled, len(q.key_points), rating
        )
        self.notify(
            self.t(
                f"Saved: {len(recalled)}/{len(q.key_points)} key points recalled",
                f"已保存：回忆起 {len(recalled)}/{len(q.key_points)} 个要点",
            )
        )
        self.load()

    async def action_insight(self) -> None:
        q = self.core.content.question(self.qid)
        if q.insights:
            await self.study.goto("insights", q.insights[0])

    async def action_exercise(self) -> None:
        q = self.core.content.question(self.qid)
        for eid in q.exercises:
            if self.core.content.exercise(eid):
                await self.study.goto("exercises", eid)
                return

    def action_figure(self) -> None:
        from studytool.tui.figures import figure, figures_for
        from studytool.tui.widgets import FigureScreen

        kinds = figures_for(self.core.content, self.qid)
        if kinds:
            self.app.push_screen(FigureScreen([figure(k) for k in kinds], self.lang))
