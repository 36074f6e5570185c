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
from textual.widgets import Static, TextArea

from studytool.textwrap_cjk import cell_width
from studytool.tui.base import Section, guarded
from studytool.tui.lang import interval_label, rating_name
from studytool.tui.widgets import KeyPoints
from studytool.tui.wrapping import Wrapped


def item_title(item, lang: str, width: int = 40) -> str:
    """What a learner calls an item: "Q13 Why divide by √d", or the start of a card's front."""
    obj = item.obj
    if item.kind == "question":
        return f"Q{obj.number} {obj.title.get(lang)}"
    text = " ".join(obj.prompt(lang).split())
    if cell_width(text) <= width:
        return f"“{text}”"
    out = ""
    for ch in text:
        if cell_width(out + ch) > width - 1:
            break
        out += ch
    return f"“{out.rstrip()}…”"


def _label(item_type: str, lang: str) -> str:
    en = {"basic": "card", "cloze": "cloze", "truefalse": "true or false?", "question": "question"}
    zh = {"basic": "卡片", "cloze": "填空", "truefalse": "判断对错", "question": "问答题"}
    return (zh if lang == "zh" else en).get(item_type, item_type)


class ReviewScreen(Section):
    SECTION = "review"
    HELP = ("Space reveals the back; then 1–4 rate it (the interval each gives is shown). "
            "For a question you may type an answer first (a); after the reveal mark the key "
            "points you recalled (↑/↓ choose, space marks) — the share suggests a rating. "
            "S lists the suspended and buried items and restores them.",
            "空格翻面；然后按 1–4 评分（每个评分对应的间隔会显示出来）。问答题可以先输入答案（a）；"
            "翻面后标记回忆起的要点（↑/↓ 选择，空格标记）——按比例给出建议评分。"
            "S 列出暂停和搁置的条目，并可恢复。")
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
        Binding("c", "cram(True)", "Cram", show=False),
        Binding("c", "cram(False)", "Cram off"),
        Binding("S", "restore", "Suspended & buried", show=False),
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
            yield KeyPoints(id="review-points")
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
            return not typing and (bool(parameters[0]) != self.cram if parameters else True)
        if action == "restore":
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
        self.query_one("#review-points", KeyPoints).clear()

    # ------------------------------------------------------------------ drawing

    def show(self) -> None:
        lang = self.lang
        cur = self.current
        status = self.query_one("#review-status", Static)
        front = self.query_one("#review-front", Static)
        back = self.query_one("#review-back", Static)
        answer = self.query_one("#review-answer", TextArea)
        points = self.query_one("#review-points", KeyPoints)
        suggest = self.query_one("#review-suggest", Static)
        ratings = self.query_one("#review-ratings", Static)
        if cur is None:
            answer.display = points.display = False
            back.display = suggest.display = False
            status.update(self._status_line())
            front.update(Wrapped(self._summary_text()))
            ratings.update(RichText(
                self.t("n new session · c cram (changes no schedule) · S suspended & buried",
                       "n 新的一轮 · c 突击（不改排程）· S 暂停与搁置"), style="dim"))
            self.refresh_bindings()
            return
        item = cur.item
        status.update(self._status_line())
        front.update(Wrapped(self._front_text()))
        is_q = item.kind == "question"
        answer.display = is_q and (not self.revealed or bool(answer.text))
        answer.read_only = self.revealed
        answer.border_title = self.t("Your answer (optional) — a to type, esc to stop",
                                     "你的答案（可选）— a 开始输入，esc 结束")
        back.display = self.revealed
        if self.revealed:
            back.update(Wrapped(self._back_text()))
        points.display = is_q and self.revealed
        suggest.display = is_q and self.revealed
        if is_q and self.revealed:
            self._fill_points()
            self._update_suggestion()
        ratings.update(self._ratings_text())
        self.refresh_bindings()

    def _counts(self):
        """new / learning / review still to come in this session (Anki's three numbers)."""
        counts = getattr(self.session, "counts", None)
        return counts() if callable(counts) else None

    def _status_line(self) -> RichText:
        from studytool.content import TOPIC_LABELS

        t = RichText(no_wrap=True, overflow="ellipsis")
        cur = self.current
        if self.cram:
            t.append(self.t(" CRAM ", " 突击 "), style="bold reverse magenta")
            t.append(" ")
        counts = self._counts() if self.session is not None else None
        if counts is not None:
            t.append(f"{counts.new}", style="bold blue")
            t.append(self.t(" new ", " 新 "))
            t.append(f"{counts.learning}", style="bold red")
            t.append(self.t(" learning ", " 学习中 "))
            t.append(f"{counts.review}", style="bold green")
            t.append(self.t(" review", " 复习"))
            t.append(" │ ", style="dim")
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
            if counts is None:
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
            t.append(self.t("\n\nKey points — mark the ones you recalled (↑/↓ choose, space "
                            "marks; then 1–4 rate):",
                            "\n\n要点——标记你回忆起的（↑/↓ 选择，空格标记；然后 1–4 评分）："),
                     style="bold")
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
        colours = {1: "red", 2: "yellow", 3: "green", 4: "cyan"}
        for r in (1, 2, 3, 4):
            t.append(f" {r} ", style=f"bold reverse {colours[r]}")
            t.append(f" {rating_name(r, self.lang)} ", style="bold")
            if not self.cram:
                t.append(f"{interval_label(self.choices[r].interval, self.lang)}  ")
        if self.cram:  # cram changes no schedule: no interval to show
            t.append(self.t("  cram: no schedule change", "  突击：不改动排程"), style="bold magenta")
        return t

    def _summary_text(self) -> RichText:
        """The end of a session: what was done, when the next card is due, what to do next."""
        assert self.session is not None
        s = self.session.summary()
        t = RichText()
        if s.rated == 0 and not s.suspended and not s.buried:
            t.append(self.t("Nothing is due right now.\n\n", "现在没有要复习的内容。\n\n"),
                     style="bold")
        else:
            t.append(self.t("Congratulations! You have finished this session.\n\n",
                            "恭喜！这一轮复习完成了。\n\n"), style="bold green")
        lines = self._core_summary_lines(s)
        if lines is not None:
            t.append("\n".join(lines))
        else:
            t.append(self.t(f"Reviewed {s.rated} ({s.new} new), {s.by_rating[1]} again",
                            f"复习了 {s.rated}（新 {s.new}），重来 {s.by_rating[1]}"))
            minutes, seconds = divmod(int(s.seconds), 60)
            t.append(self.t(f"\nTime: {minutes} min {seconds} s", f"\n用时：{minutes} 分 {seconds} 秒"))
            if s.next_due is not None:
                local = s.next_due.astimezone().strftime("%H:%M")
                t.append(self.t(f"\nNext card due at {local}.", f"\n下一张卡片 {local} 到期。"))
        extra = []
        if s.suspended:
            extra.append(self.t(f"{s.suspended} suspended", f"暂停 {s.suspended}"))
        if s.buried:
            extra.append(self.t(f"{s.buried} buried", f"搁置 {s.buried}"))
        if s.undone:
            extra.append(self.t(f"{s.undone} undone", f"撤销 {s.undone}"))
        if extra:
            t.append("\n" + self.t(", ", "，").join(extra))
        if s.cram:
            t.append(self.t("\nCram: the schedule was not touched.", "\n突击：没有改动排程。"))
        t.append(self.t("\n\nWhat next\n", "\n\n接下来\n"), style="bold")
        for key, text in self._what_next():
            t.append(f"  {key}  ", style="bold")
            t.append(text + "\n")
        return t

    def _core_summary_lines(self, s) -> list[str] | None:
        """The core's own summary text (the same words `studytool review --plain` prints)."""
        try:
            from studytool.review import summary_lines
        except ImportError:
            return None
        return list(summary_lines(s, self.lang))

    def _what_next(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        core = self.core
        try:
            from studytool import workspace

            todo = [st for st in workspace.statuses(core.store)
                    if core.content.exercise(st.id) is not None and st.status != "passed"]
        except Exception:  # noqa: BLE001 - the list is a suggestion only
            todo = []
        if todo:
            first = min(todo, key=lambda st: st.order)
            out.append(("5", self.t(f"Exercises: “{first.title.get(self.lang)}” "
                                    f"({len(todo)} not passed yet)",
                                    f"练习：“{first.title.get(self.lang)}”（还有 {len(todo)} 个未通过）")))
        out.append(("3", self.t("Questions: answer one in your own words",
                                "问题：用自己的话回答一道")))
        out.append(("n", self.t("a new session (due cards and new ones)", "新的一轮（到期和新卡片）")))
        out.append(("c", self.t("cram: go through the cards again, no schedule change",
                                "突击：再过一遍卡片，不改动排程")))
        return out

    def _fill_points(self) -> None:
        points = self.query_one("#review-points", KeyPoints)
        obj = self.current.item.obj
        points.set_points([kp.get(self.lang) for kp in obj.key_points])

    def _update_suggestion(self) -> None:
        from studytool.review import suggest_rating

        points = self.query_one("#review-points", KeyPoints)
        total = len(self.current.item.obj.key_points)
        n = len(points.selected)
        r = suggest_rating(n, total)
        self.suggested = r
        self.query_one("#review-suggest", Static).update(Wrapped(RichText.assemble(
            (self.t(f"Recalled {n}/{total} → suggested: ", f"回忆起 {n}/{total} → 建议："), "bold"),
            (f"{r} {rating_name(r, self.lang)}", "bold reverse"),
            self.t("  (you choose: 1–4)", "（由你决定：1–4）"))))

    def on_key_points_changed(self, event) -> None:
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
            self.query_one("#review-points", KeyPoints).focus()
            self.query_one("#review-card").scroll_to_widget(self.query_one("#review-back"),
                                                            animate=False, top=True)
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
            points = self.query_one("#review-points", KeyPoints)
            answer = QuestionAnswer(self.query_one("#review-answer", TextArea).text,
                                    tuple(sorted(points.selected)),
                                    len(self.current.item.obj.key_points))
        choice = self.choices[rating]
        rated = self.session.rate(rating, answer=answer)
        name = rating_name(rated.rating, self.lang)
        if self.cram:
            self.last = self.t(f"{name} (cram: no schedule change)", f"{name}（突击：不改动排程）")
        else:
            self.last = f"{name} → {interval_label(choice.interval, self.lang)}"
        self._advance()
        self.show()

    def _title(self, item_id: str | None) -> str:
        item = self.session.items.get(item_id) if self.session and item_id else None
        return item_title(item, self.lang, 30) if item is not None else str(item_id)

    @guarded
    def action_undo(self) -> None:
        if self.session is None or not self.session.can_undo:
            return
        item_id = self.session.undo()
        title = self._title(item_id)
        self.last = self.t(f"undid {title}", f"已撤销 {title}")
        self._advance()  # the undone item is the session's current one again
        self.show()

    @guarded
    def action_suspend(self) -> None:
        if self.current is None:
            return
        title = self._title(self.current.item.id)
        self.session.suspend()
        self.last = self.t(f"suspended {title} (u undoes)", f"已暂停 {title}（u 撤销）")
        self._advance()
        self.show()

    @guarded
    def action_bury(self) -> None:
        if self.current is None:
            return
        title = self._title(self.current.item.id)
        self.session.bury()
        self.last = self.t(f"buried {title} until tomorrow", f"已搁置 {title} 到明天")
        self._advance()
        self.show()

    @guarded
    def action_new_session(self) -> None:
        self.last = ""
        self._start()
        self.show()

    @guarded
    def action_cram(self, on: bool | None = None) -> None:
        self.cram = (not self.cram) if on is None else bool(on)
        self.last = (self.t("cram on: ratings change no schedule", "突击开启：评分不改动排程")
                     if self.cram else
                     self.t("back to your scheduled reviews", "回到按排程复习"))
        self._start()
        self.show()

    def action_figure(self) -> None:
        from studytool.tui.figures import figure
        from studytool.tui.widgets import FigureScreen

        kinds = self._figures()
        if kinds:
            self.app.push_screen(FigureScreen([figure(k) for k in kinds], self.lang))
