"""2 · Review: the spaced-repetition session, full screen.

Drives :class:`studytool.review.ReviewSession` exactly as `studytool review --plain` does:
``next()`` → show the front → ``reveal()`` (the four intervals, computed once) → ``rate(n)``;
``undo()``, ``suspend()``, ``bury()``; ``summary()`` at the end.
"""

from __future__ import annotations

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import SelectionList, Static, TextArea
from textual.widgets.selection_list import Selection

from studytool.tui.base import Section, focus_list, guarded


def _label(item_type: str, lang: str) -> str:
    en = {"basic": "card", "cloze": "cloze", "truefalse": "true or false?", "question": "question"}
    zh = {"basic": "卡片", "cloze": "填空", "truefalse": "判断对错", "question": "问答题"}
    return (zh if lang == "zh" else en).get(item_type, item_type)


class ReviewScreen(Section):
    SECTION = "review"
    HELP = ("Space reveals the back; then 1–4 rate it (the interval each gives is shown). "
            "For a question you may type an answer first (a), and mark the key points you "
            "recalled (space in the list) — the share suggests a rating.",
            "空格翻面；然后按 1–4 评分（每个评分对应的间隔会显示出来）。问答题可以先输入答案（a），"
            "再在列表中标记回忆起的要点（空格）——按比例给出建议评分。")
    BINDINGS = [
        Binding("space", "reveal", "Reveal"),
        Binding("t", "verdict(True)", "True"),
        Binding("f", "verdict(False)", "False"),
        Binding("a", "answer", "Type answer"),
        Binding("1", "rate(1)", "Again", show=False),  # shown with its interval
        Binding("2", "rate(2)", "Hard", show=False),  # shown with its interval
        Binding("3", "rate(3)", "Good", show=False),  # shown with its interval
        Binding("4", "rate(4)", "Easy", show=False),  # shown with its interval
        Binding("u", "undo", "Undo"),
        Binding("s", "suspend", "Suspend"),
        Binding("b", "bury", "Bury"),
        Binding("g", "figure", "Figure"),
        Binding("n", "new_session", "New session"),
        Binding("c", "cram", "Cram"),
        Binding("escape", "leave_answer", "Done typing"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.session = None
        self.current = None
        self.choices = None
        self.verdict: bool | None = None
        self.last: str = ""
        self.cram = False

    def body(self) -> ComposeResult:
        yield Static(id="review-status")
        with VerticalScroll(id="review-card"):
            yield Static(id="review-front")
            yield TextArea(id="review-answer", soft_wrap=True, show_line_numbers=False)
            yield Static(id="review-back")
            yield SelectionList[int](id="review-points")
            yield Static(id="review-suggest")
        yield Static(id="review-ratings")

    # ------------------------------------------------------------------ state

    @property
    def revealed(self) -> bool:
        return self.choices is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        cur = self.current
        typing = self.typing()
        if action == "reveal":
            return cur is not None and not self.revealed and not typing
        if action == "verdict":
            return cur is not None and not self.revealed and cur.item.type == "truefalse"
        if action == "answer":
            return cur is not None and not self.revealed and cur.item.kind == "question" and not typing
        if action == "leave_answer":
            return typing
        if action == "rate":
            return cur is not None and self.revealed
        if action in ("suspend", "bury"):
            return cur is not None and not typing
        if action == "undo":
            return self.session is not None and self.session.can_undo and not typing
        if action == "figure":
            return cur is not None and bool(self._figures()) and not typing
        if action == "new_session":
            return self.session is not None and cur is None
        if action == "cram":
            return not typing
        return True

    def load(self) -> None:
        if self.session is None:
            self._start()
        self.show()

    def _start(self) -> None:
        from studytool.review import ReviewSession

        core = self.core
        assert core is not None
        self.session = ReviewSession(core.store, core.content, config=core.config,
                                     clock=self.study.clock, cram=self.cram)
        self.current = None
        self.choices = None
        self._advance()

    def _advance(self) -> None:
        assert self.session is not None
        self.current = self.session.next()
        self.choices = None
        self.verdict = None
        self.query_one("#review-answer", TextArea).text = ""
        self.query_one("#review-points", SelectionList).clear_options()

    # ------------------------------------------------------------------ drawing

    def show(self) -> None:
        lang = self.lang
        cur = self.current
        status = self.query_one("#review-status", Static)
        front = self.query_one("#review-front", Static)
        back = self.query_one("#review-back", Static)
        answer = self.query_one("#review-answer", TextArea)
        points = self.query_one("#review-points", SelectionList)
        suggest = self.query_one("#review-suggest", Static)
        ratings = self.query_one("#review-ratings", Static)
        if cur is None:
            answer.display = points.display = False
            back.display = suggest.display = False
            status.update(self._status_line())
            front.update(self._summary_text())
            ratings.update(RichText(self.t("n  new session    c  cram (no scheduling)",
                                           "n  新的一轮    c  突击模式（不影响排程）"), style="dim"))
            self.refresh_bindings()
            return
        item = cur.item
        status.update(self._status_line())
        front.update(self._front_text())
        is_q = item.kind == "question"
        answer.display = is_q and (not self.revealed or bool(answer.text))
        answer.read_only = self.revealed
        answer.border_title = self.t("Your answer (optional) — a to type, esc to stop",
                                     "你的答案（可选）— a 开始输入，esc 结束")
        back.display = self.revealed
        if self.revealed:
            back.update(self._back_text())
        points.display = is_q and self.revealed
        suggest.display = is_q and self.revealed
        if is_q and self.revealed:
            self._fill_points()
            self._update_suggestion()
        ratings.update(self._ratings_text())
        self.refresh_bindings()

    def _status_line(self) -> RichText:
        from studytool.content import TOPIC_LABELS

        t = RichText(no_wrap=True, overflow="ellipsis")
        cur = self.current
        if self.cram:
            t.append(self.t(" CRAM ", " 突击 "), style="bold reverse magenta")
            t.append(" ")
        if cur is None:
            t.append(self.t("Session finished", "本轮结束"), style="bold")
        else:
            lang = self.lang
            topic = TOPIC_LABELS.get(cur.item.topic, (cur.item.topic, cur.item.topic))
            t.append(_label(cur.item.type, lang), style="bold cyan")
            t.append(f" · {topic[1 if lang == 'zh' else 0]} · ")
            t.append(self.t(cur.state, {"new": "新", "learning": "学习中", "review": "复习",
                                        "relearning": "重学"}.get(cur.state, cur.state)))
            if cur.retrievability is not None:
                t.append(self.t(f" · recall {cur.retrievability:.0%}", f" · 记忆 {cur.retrievability:.0%}"))
            t.append(self.t(f" · {cur.remaining} more", f" · 还有 {cur.remaining}"))
        if self.last:
            t.append("   " + self.last, style="dim")
        return t

    def _front_text(self) -> RichText:
        cur = self.current
        obj = cur.item.obj
        lang = self.lang
        t = RichText()
        if cur.item.kind == "question":
            t.append(f"Q{obj.number} ", style="bold yellow")
            t.append(obj.title.get(lang) + "\n\n", style="bold")
            t.append(obj.question.get(lang))
        else:
            t.append(obj.prompt(lang), style="bold")
            if cur.item.type == "truefalse" and not self.revealed:
                t.append(self.t("\n\nt  true    f  false    space  just show",
                                "\n\nt  正确    f  错误    空格  直接显示"), style="dim")
        if not self.revealed and cur.item.kind != "question" and cur.item.type != "truefalse":
            t.append(self.t("\n\nspace  reveal", "\n\n空格  翻面"), style="dim")
        if not self.revealed and cur.item.kind == "question":
            t.append(self.t("\n\na  type an answer first (optional)    space  reveal",
                            "\n\na  先输入答案（可选）    空格  显示答案"), style="dim")
        return t

    def _back_text(self) -> RichText:
        cur = self.current
        obj = cur.item.obj
        lang = self.lang
        t = RichText()
        t.append("─" * 20 + "\n", style="grey50")
        if cur.item.kind == "question":
            t.append(self.t("Model answer\n", "参考答案\n"), style="bold green")
            t.append(obj.answer.get(lang))
            t.append(self.t("\n\nKey points — mark the ones you recalled (tab, space):",
                            "\n\n要点——标记你回忆起的（tab，空格）："), style="bold")
            return t
        if cur.item.type == "truefalse" and self.verdict is not None:
            right = self.verdict == bool(obj.answer)
            t.append(self.t("✓ right. " if right else "✗ not quite. ",
                            "✓ 正确。" if right else "✗ 不对。"),
                     style="bold green" if right else "bold red")
        t.append(obj.reveal(lang))
        return t

    def _ratings_text(self) -> RichText:
        t = RichText(no_wrap=True, overflow="ellipsis")
        if not self.revealed:
            t.append(self.t("space reveal · then rate 1–4", "空格翻面 · 然后 1–4 评分"), style="dim")
            return t
        names = {1: self.t("Again", "重来"), 2: self.t("Hard", "困难"), 3: self.t("Good", "良好"),
                 4: self.t("Easy", "简单")}
        colours = {1: "red", 2: "yellow", 3: "green", 4: "cyan"}
        for r in (1, 2, 3, 4):
            c = self.choices[r]
            t.append(f" {r} ", style=f"bold reverse {colours[r]}")
            t.append(f" {names[r]} ", style="bold")
            t.append(f"{c.label}   ")
        return t

    def _summary_text(self) -> RichText:
        assert self.session is not None
        s = self.session.summary()
        t = RichText()
        if s.rated == 0 and not s.suspended and not s.buried:
            t.append(self.t("Nothing is due right now.\n\n", "现在没有要复习的内容。\n\n"), style="bold")
        else:
            t.append(self.t("Well done!\n\n", "做得好！\n\n"), style="bold green")
        t.append(self.t(f"Rated {s.rated} ({s.new} new): ", f"已评分 {s.rated}（新 {s.new}）："))
        t.append(self.t(f"{s.by_rating[1]} again, {s.by_rating[2]} hard, {s.by_rating[3]} good, "
                        f"{s.by_rating[4]} easy",
                        f"重来 {s.by_rating[1]}，困难 {s.by_rating[2]}，良好 {s.by_rating[3]}，"
                        f"简单 {s.by_rating[4]}"))
        extra = []
        if s.suspended:
            extra.append(self.t(f"{s.suspended} suspended", f"暂停 {s.suspended}"))
        if s.buried:
            extra.append(self.t(f"{s.buried} buried", f"搁置 {s.buried}"))
        if s.undone:
            extra.append(self.t(f"{s.undone} undone", f"撤销 {s.undone}"))
        if extra:
            t.append("\n" + ", ".join(extra))
        minutes, seconds = divmod(int(s.seconds), 60)
        t.append(self.t(f"\nTime: {minutes} min {seconds} s", f"\n用时：{minutes} 分 {seconds} 秒"))
        if s.next_due is not None:
            local = s.next_due.astimezone().strftime("%H:%M")
            t.append(self.t(f"\nNext learning step due at {local} — come back then.",
                            f"\n下一个学习步骤在 {local} 到期——届时再来。"))
        if s.cram:
            t.append(self.t("\nCram mode: the schedule was not touched.", "\n突击模式：没有改动排程。"))
        return t

    def _fill_points(self) -> None:
        points = self.query_one("#review-points", SelectionList)
        obj = self.current.item.obj
        if points.option_count == len(obj.key_points):
            # keep the marks, only the language may have changed
            marked = set(points.selected)
            points.clear_options()
        else:
            marked = set()
        points.add_options([Selection(kp.get(self.lang), i, i in marked)
                            for i, kp in enumerate(obj.key_points)])

    def _update_suggestion(self) -> None:
        from studytool.review import suggest_rating

        points = self.query_one("#review-points", SelectionList)
        total = len(self.current.item.obj.key_points)
        n = len(points.selected)
        r = suggest_rating(n, total)
        names = {1: self.t("Again", "重来"), 2: self.t("Hard", "困难"), 3: self.t("Good", "良好")}
        self.suggested = r
        self.query_one("#review-suggest", Static).update(RichText.assemble(
            (self.t(f"Recalled {n}/{total} → suggested: ", f"回忆起 {n}/{total} → 建议："), "bold"),
            (f"{r} {names[r]}", "bold reverse"),
            self.t("  (you choose: 1–4)", "（由你决定：1–4）")))

    def on_selection_list_selected_changed(self, event) -> None:
        if self.current is not None and self.revealed:
            self._update_suggestion()

    def _figures(self) -> list[str]:
        from studytool.tui.figures import figures_for

        if self.current is None or self.core is None:
            return []
        return figures_for(self.core.content, self.current.item.id)

    # ------------------------------------------------------------------ actions

    @guarded
    def action_reveal(self) -> None:
        if self.current is None or self.revealed:
            return
        self.choices = self.session.reveal()
        self.show()
        if self.current.item.kind == "question":
            focus_list(self.query_one("#review-points", SelectionList))
        else:
            self.query_one("#review-card").focus()

    def action_verdict(self, value: bool) -> None:
        self.verdict = value
        self.action_reveal()

    def action_answer(self) -> None:
        answer = self.query_one("#review-answer", TextArea)
        answer.display = True
        answer.focus()

    def action_leave_answer(self) -> None:
        self.query_one("#review-card").focus()

    @guarded
    def action_rate(self, rating: int) -> None:
        from studytool.scheduler import QuestionAnswer

        if self.current is None or not self.revealed:
            return
        answer = None
        if self.current.item.kind == "question":
            points = self.query_one("#review-points", SelectionList)
            answer = QuestionAnswer(self.query_one("#review-answer", TextArea).text,
                                    tuple(sorted(points.selected)),
                                    len(self.current.item.obj.key_points))
        rated = self.session.rate(rating, answer=answer)
        self.last = self.t(f"{rated.name} → {rated.label}", f"{rated.name} → {rated.label}")
        self._advance()
        self.show()

    @guarded
    def action_undo(self) -> None:
        if self.session is None or not self.session.can_undo:
            return
        item_id = self.session.undo()
        self.last = self.t(f"undid {item_id}", f"已撤销 {item_id}")
        self._advance()  # the undone item is the session's current one again
        self.show()

    @guarded
    def action_suspend(self) -> None:
        if self.current is None:
            return
        item_id = self.session.suspend()
        self.last = self.t(f"suspended {item_id} (u undoes)", f"已暂停 {item_id}（u 撤销）")
        self._advance()
        self.show()

    @guarded
    def action_bury(self) -> None:
        if self.current is None:
            return
        item_id = self.session.bury()
        self.last = self.t(f"buried {item_id} until tomorrow", f"已搁置 {item_id} 到明天")
        self._advance()
        self.show()

    @guarded
    def action_new_session(self) -> None:
        self.last = ""
        self._start()
        self.show()

    @guarded
    def action_cram(self) -> None:
        self.cram = not self.cram
        self.last = self.t("cram mode on: nothing is scheduled" if self.cram else "cram mode off",
                           "突击模式开启：不改动排程" if self.cram else "突击模式关闭")
        self._start()
        self.show()

    def action_figure(self) -> None:
        from studytool.tui.figures import figure
        from studytool.tui.widgets import FigureScreen

        kinds = self._figures()
        if kinds:
            self.app.push_screen(FigureScreen([figure(k) for k in kinds], self.lang))
