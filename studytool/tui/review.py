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

from studytool.tui.base import Section, guarded
from studytool.tui.lang import count_name, rating_name, state_name
from studytool.tui.lang import tr as core_tr
from studytool.tui.widgets import KeyPoints
from studytool.tui.wrapping import Wrapped


def _label(item_type: str, lang: str) -> str:
    en = {"basic": "card", "cloze": "cloze", "truefalse": "true or false?", "question": "question"}
    zh = {"basic": "卡片", "cloze": "填空", "truefalse": "判断对错", "question": "问答题"}
    return (zh if lang == "zh" else en).get(item_type, item_type)


class ReviewScreen(Section):
    SECTION = "review"
    HELP = (
        "Space reveals the back; then 1–4 rate it (the interval each gives is shown). "
        "For a question you may type an answer first (a); after the reveal mark the key "
        "points you recalled (↑/↓ choose, space marks) — the share suggests a rating. "
        "S lists the suspended and buried items and restores them.",
        "空格翻面；然后按 1–4 评分（每个评分对应的间隔会显示出来）。问答题可以先输入答案（a）；"
        "翻面后标记回忆起的要点（↑/↓ 选择，空格标记）——按比例给出建议评分。"
        "S 列出暂停和搁置的条目，并可恢复。",
    )
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
        self.session = ReviewSession(
            core.store, core.content, config=core.config, clock=self.study.clock, cram=self.cram
        )
        self.current = None
        self.choices = None
        self._advance()

    def _advance(self) -> None:
        assert self.session is not None
        before = self.session.changed_elsewhere
        self.current = self.session.next()
        if self.session.changed_elsewhere != before:  # another window or the CLI wrote
            self.last = core_tr("changed_elsewhere", self.lang)
        self.choices = None
        self.verdict = None
        self.query_one("#review-answer", TextArea).text = ""
        self.query_one("#review-points", KeyPoints).clear()

    # ------------------------------------------------------------------ drawing

    def show(self) -> None:
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
            ratings.update(
                RichText(
                    self.t(
                        "n new session · c cram (changes no schedule) · S suspended & buried",
                        "n 新的一轮 · c 突击（不改排程）· S 暂停与搁置",
                    ),
                    style="dim",
                )
            )
            self.refresh_bindings()
            return
        item = cur.item
        status.update(self._status_line())
        front.update(Wrapped(self._front_text()))
        is_q = item.kind == "question"
        answer.display = is_q and (not self.revealed or bool(answer.text))
        answer.read_only = self.revealed
        answer.border_title = self.t(
            "Your answer (optional) — a to type, esc to stop", "你的答案（可选）— a 开始输入，esc 结束"
        )
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
        """new / learning / review still to come (Anki's three numbers; the core's definition)."""
        if self.current is not None:
            return self.current.counts
        return self.session.counts() if self.session is not None else None

    def _status_line(self) -> RichText:
        from studytool.content import TOPIC_LABELS

        lang = self.lang
        t = RichText(no_wrap=True, overflow="ellipsis")
        cur = self.current
        if self.cram:
            t.append(self.t(" CRAM ", " 突击 "), style="bold reverse magenta")
            t.append(" ")
        counts = self._counts()
        if counts is not None:
            sep = "" if lang == "zh" else " "
            for key, colour in (("new", "blue"), ("learning", "red"), ("review", "green")):
                t.append(f"{getattr(counts, key)}", style=f"bold {colour}")
                t.append(f"{sep}{count_name(key, lang)}  " if lang != "zh" else f" {count_name(key, lang)}  ")
            t.append("│ ", style="dim")
        if cur is None:
            done = self.session is None or self.session.summary().finished
            t.append(
                self.t("Session finished", "本轮结束") if done else self.t("Session stopped", "本轮暂停"),
                style="bold",
            )
        else:
            topic = TOPIC_LABELS.get(cur.item.topic, (cur.item.topic, cur.item.topic))
            t.append(_label(cur.item.type, lang), style="bold cyan")
            t.append(f" · {topic[1 if lang == 'zh' else 0]} · ")
            t.append(state_name(cur.state, lang))
            if cur.retrievability is not None:
                t.append(self.t(f" · recall {cur.retrievability:.0%}", f" · 记忆 {cur.retrievability:.0%}"))
        if self.last:  # on its own line: at 80 columns it would be cut off beside the counts
            t.append("\n" + self.last, style="italic")
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
                t.append(
                    self.t(
                        "\n\nt  true    f  false    space  just show",
                        "\n\nt  正确    f  错误    空格  直接显示",
                    ),
                    style="dim",
                )
        if not self.revealed and cur.item.kind != "question" and cur.item.type != "truefalse":
            t.append(self.t("\n\nspace  reveal", "\n\n空格  翻面"), style="dim")
        if not self.revealed and cur.item.kind == "question":
            t.append(
                self.t(
                    "\n\na  type an answer first (optional)    space  reveal",
                    "\n\na  先输入答案（可选）    空格  显示答案",
                ),
                style="dim",
            )
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
            t.append(
                self.t(
                    "\n\nKey points — mark the ones you recalled (↑/↓ choose, space marks; then 1–4 rate):",
                    "\n\n要点——标记你回忆起的（↑/↓ 选择，空格标记；然后 1–4 评分）：",
                ),
                style="bold",
            )
            return t
        if cur.item.type == "truefalse" and self.verdict is not None:
            right = self.verdict == bool(obj.answer)
            t.append(
                self.t("✓ right. " if right else "✗ not quite. ", "✓ 正确。" if right else "✗ 不对。"),
                style="bold green" if right else "bold red",
            )
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
                t.append(f"{self.choices[r].label_in(self.lang)}  ")
        if self.cram:  # cram changes no schedule: no interval to show
            t.append("  " + core_tr("cram_label", self.lang), style="bold magenta")
        return t

    def _summary_text(self) -> RichText:
        """The end of a session (the core's words, as `review --plain` prints them): what was
        done, when the next card is due, what to do next; then the keys for it here."""
        from studytool.review import summary_lines

        assert self.session is not None
        s = self.session.summary()
        lines = summary_lines(s, self.lang, now=self.study.clock(), app=True)
        t = RichText()
        t.append(lines[0] + "\n\n", style="bold green" if s.rated else "bold")
        t.append("\n".join(lines[1:]))
        t.append(self.t("\n\nKeys\n", "\n\n按键\n"), style="bold")
        for key, text in self._what_next():
            t.append(f"  {key}  ", style="bold")
            t.append(text + "\n")
        return t

    def _what_next(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        core = self.core
        try:
            from studytool import workspace

            todo = [
                st
                for st in workspace.statuses(core.store)
                if core.content.exercise(st.id) is not None and st.status != "passed"
            ]
        except Exception:  # noqa: BLE001 - the list is a suggestion only
            todo = []
        if todo:
            first = min(todo, key=lambda st: st.order)
            out.append(
                (
                    "5",
                    self.t(
                        f"Exercises: “{first.title.get(self.lang)}” ({len(todo)} not passed yet)",
                        f"练习：“{first.title.get(self.lang)}”（还有 {len(todo)} 个未通过）",
                    ),
                )
            )
        out.append(("3", self.t("Questions: answer one in your own words", "问题：用自己的话回答一道")))
        out.append(("n", self.t("a new session (due cards and new ones)", "新的一轮（到期和新卡片）")))
        out.append(
            (
                "c",
                self.t(
                    "cram: go through the cards again, no schedule change", "突击：再过一遍卡片，不改动排程"
                ),
            )
        )
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
        self.query_one("#review-suggest", Static).update(
            Wrapped(
                RichText.assemble(
                    (self.t(f"Recalled {n}/{total} → suggested: ", f"回忆起 {n}/{total} → 建议："), "bold"),
                    (f"{r} {rating_name(r, self.lang)}", "bold reverse"),
                    self.t("  (you choose: 1–4)", "（由你决定：1–4）"),
                )
            )
        )

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
            self.query_one("#review-card").scroll_to_widget(
                self.query_one("#review-back"), animate=False, top=True
            )
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
            answer = QuestionAnswer(
                self.query_one("#review-answer", TextArea).text,
                tuple(sorted(points.selected)),
                len(self.current.item.obj.key_points),
            )
        rated = self.session.rate(rating, answer=answer)
        self.last = rated.status(self.lang)
        self._advance()
        self.show()

    def _title(self, item_id: str | None) -> str:
        return self.session.title(item_id, self.lang, 30)

    @guarded
    def action_undo(self) -> None:
        if self.session is None or not self.session.can_undo:
            return
        from studytool.scheduler import ChangedElsewhere

        try:
            item_id = self.session.undo()
        except ChangedElsewhere as exc:
            self.last = core_tr("undo_changed_elsewhere", self.lang, title=self._title(exc.item_id))
            self.show()
            return
        self.last = core_tr("undone", self.lang, title=self._title(item_id))
        self._advance()  # the undone item is the session's current one again
        self.show()

    @guarded
    def action_suspend(self) -> None:
        if self.current is None:
            return
        title = self._title(self.current.item.id)
        self.session.suspend()
        self.last = core_tr("suspended", self.lang, title=title)
        self._advance()
        self.show()

    @guarded
    def action_bury(self) -> None:
        if self.current is None:
            return
        title = self._title(self.current.item.id)
        self.session.bury()
        self.last = core_tr("buried", self.lang, title=title)
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
        self.last = core_tr("cram_on" if self.cram else "cram_off", self.lang)
        self._start()
        self.show()

    def action_restore(self) -> None:
        """S: the suspended and buried items, to put back in review."""
        from studytool.tui.widgets import HeldScreen

        def done(restored: bool | None) -> None:
            if restored:  # a new session: the restored items are in its queue
                self.last = ""
                self._start()
                self.show()

        self.app.push_screen(
            HeldScreen(self.core.store, self.core.content, self.study.clock(), self.lang), done
        )

    def action_figure(self) -> None:
        from studytool.tui.figures import figure
        from studytool.tui.widgets import FigureScreen

        kinds = self._figures()
        if kinds:
            self.app.push_screen(FigureScreen([figure(k) for k in kinds], self.lang))
