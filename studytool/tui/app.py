"""The Textual app: `studytool` with no arguments.

Sections are Textual *modes* (one screen module each, built lazily when first opened). The core —
content, store, settings — loads in a thread after the first frame, so the first screen appears at
the speed of a bare Textual app. torch is never imported here: grading goes through the grader
subprocess (:mod:`studytool.grading`).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.widgets import TextArea

from studytool.tui import prefs
from studytool.tui.widgets import SECTIONS, HelpScreen, localize_bindings, tr

log = logging.getLogger("studytool.tui")

SCREEN_CLASSES = {
    "today": "studytool.tui.today:TodayScreen",
    "review": "studytool.tui.review:ReviewScreen",
    "questions": "studytool.tui.questions:QuestionsScreen",
    "insights": "studytool.tui.insights:InsightsScreen",
    "exercises": "studytool.tui.exercises:ExercisesScreen",
    "checklist": "studytool.tui.checklist:ChecklistScreen",
    "stats": "studytool.tui.stats:StatsScreen",
    "lab": "studytool.tui.lab:LabScreen",
}


def _factory(mode: str) -> Callable[[], Any]:
    def make():
        module, _, name = SCREEN_CLASSES[mode].partition(":")
        return getattr(importlib.import_module(module), name)()

    return make


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Core:
    """What the screens read from: loaded once, in a thread, after the first frame."""

    content: Any
    problems: list
    store: Any
    config: Any
    warnings: list[str] = field(default_factory=list)
    app_lock: Any = None  # studytool.applock.AppLock, held while the app runs
    other_app: Any = None  # studytool.applock.Holder: another app is open on the same data


def load_core() -> Core:
    from studytool.config import Config, ConfigError, load_config
    from studytool.content import default_content
    from studytool.store import Store

    warnings: list[str] = []
    content, problems = default_content()
    for p in problems:
        warnings.append(str(p))
    try:
        config = load_config()
    except ConfigError as exc:
        warnings.append(f"{exc} — using the default settings")
        config = Config()
    store = Store()
    from studytool import applock

    lock, other = applock.acquire()
    return Core(content, problems, store, config, warnings, lock, other)


def _study_commands():
    """The palette's provider, imported when the palette first opens (not at start-up)."""
    from studytool.tui.commands import StudyCommands

    return StudyCommands


class StudyApp(App):
    TITLE = "studytool"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses may live anywhere
    COMMANDS = {_study_commands}
    COMMAND_PALETTE_BINDING = "ctrl+p"
    MODES = {mode: _factory(mode) for mode in SCREEN_CLASSES}
    DEFAULT_MODE = "today"

    BINDINGS = [
        *[Binding(key, f"section('{mode}')", en, show=False) for mode, key, en, _ in SECTIONS],
        Binding("question_mark", "help", "Help"),
        Binding("comma", "settings", "Settings", show=False),  # studytool/tui/settings.py
        Binding("B", "browse", "Browse", show=False),  # studytool/tui/browser.py
        Binding("l", "toggle_lang('zh')", "中文"),
        Binding("l", "toggle_lang('en')", "English"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        core: Core | None = None,
        grader: Any = None,
        lang: str | None = None,
        warm: bool = True,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.clock = clock or _utcnow
        self.core: Core | None = core
        self.grader = grader  # a warm grading client, made on the first check when None
        self._own_grader = grader is None
        self._grader_lock = threading.Lock()
        self._warm = warm
        self._warming = False
        self.cursor_blink = cursor_blink
        self.lang = lang or prefs.load_lang()
        self.theme = "textual-dark"

    # ------------------------------------------------------------------ start-up

    def on_mount(self) -> None:
        if self.lang != "en":
            localize_bindings(self, self.lang)
        if self.core is None:
            # after the first frame: loading competes for the GIL and would delay it
            self.call_after_refresh(self.load_core_worker)
        else:
            self.call_after_refresh(self._core_loaded)

    @work(thread=True, exclusive=True, exit_on_error=False, group="core")
    def load_core_worker(self) -> None:
        core = load_core()
        self.call_from_thread(self._set_core, core)

    def _set_core(self, core: Core) -> None:
        self.core = core
        self._core_loaded()

    def _core_loaded(self) -> None:
        assert self.core is not None
        if self.core.other_app is not None:  # said at start (the core's lock: studytool.applock)
            from studytool.i18n import t

            self.notify(
                t("review.another_app_open", self.lang, pid=self.core.other_app.pid),
                severity="warning",
                timeout=10,
                markup=False,
            )
        warnings = self.core.warnings
        if warnings:
            lang = self.lang
            n = len(warnings)
            more = tr(lang, f"\n… and {n - 1} more", f"\n……还有 {n - 1} 个") if n > 1 else ""
            self.notify(
                f"{warnings[0]}{more}\n"
                + tr(lang, "(`studytool validate` lists them all)", "（`studytool validate` 会列出全部）"),
                title=tr(lang, f"{n} content problem(s)", f"{n} 个内容问题"),
                severity="warning",
                timeout=8,
                markup=False,
            )
        screen = self.screen
        if hasattr(screen, "core_ready"):
            screen.core_ready()

    def on_worker_state_changed(self, event) -> None:
        self.report_worker(event)

    def report_worker(self, event) -> None:
        """The one place where a failed worker becomes a message (workers only post results).
        Screens forward their workers' state changes here (they do not bubble)."""
        from textual.worker import WorkerState

        if event.state == WorkerState.ERROR:
            err = event.worker.error
            self.notify(
                f"{type(err).__name__}: {err}",
                title=tr(self.lang, "Error", "出错了"),
                severity="error",
                timeout=10,
                markup=False,
            )

    async def on_unmount(self) -> None:
        if self.grader is not None and self._own_grader:
            # Never wait for the grading service here: quitting must be instant. Its close runs
            # in a daemon thread; if the process exits first, the service reads EOF on its stdin
            # and exits by itself (it and its sandbox never outlive the app).
            threading.Thread(
                target=self._close_grader, args=(self.grader,), daemon=True, name="grader-close"
            ).start()
        # The store's connection is not closed here: a thread worker may still be using it (Today
        # or Stats computing, a check recording its attempt, a lab run being stored), and closing
        # a sqlite connection under another thread crashes the process (SIGSEGV). It closes when
        # its last user lets go of it, or at exit; every write is already committed (WAL,
        # synchronous=FULL), so nothing is lost either way.

    # ------------------------------------------------------------------ grading

    @staticmethod
    def _close_grader(grader) -> None:
        try:
            grader.close()
        except Exception:  # noqa: BLE001 - shutting down anyway
            pass

    def get_grader(self) -> Any:
        """The warm grading client (a subprocess; torch lives there). Safe from any thread."""
        with self._grader_lock:
            if self.grader is None:
                from studytool.grading import Grader

                self.grader = Grader()
            return self.grader.start()

    def warm_grader(self) -> None:
        """Start the grading service early, so the first check is fast. Never blocks."""
        if self._warm and self.grader is None and not self._warming:
            self._warming = True
            # after the screen has drawn: importing torch in the service competes for the CPU
            self.set_timer(1.0, self._warm_worker)

    @work(thread=True, exclusive=True, group="warm", exit_on_error=False)
    def _warm_worker(self) -> None:
        self.get_grader().ping()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "section" and isinstance(self.focused, TextArea):
            return False
        if action == "toggle_lang" and parameters:
            return parameters[0] != self.lang
        return True

    def action_settings(self) -> None:
        """`,`: the settings screen (h4a-srs's studytool/tui/settings.py)."""
        from studytool.tui.settings import SettingsScreen

        def done(changed: bool | None) -> None:
            if changed and self.core is not None:
                from studytool.config import Config, ConfigError, load_config

                try:
                    self.core.config = load_config()
                except ConfigError:
                    self.core.config = Config()

        self.push_screen(SettingsScreen(self.lang), done)

    def action_browse(self) -> None:
        """`B`: the card browser (h4a-srs's studytool/tui/browser.py)."""
        if self.core is None:
            return
        from studytool.tui.browser import BrowserScreen

        self.push_screen(
            BrowserScreen(
                self.core.store, self.core.content, self.lang, now=self.clock(), config=self.core.config
            )
        )

    def action_section(self, mode: str) -> None:
        if self.current_mode == mode and not isinstance(self.screen, HelpScreen):
            return
        # Close dialogs (help, figures) before switching.
        while len(self.screen_stack) > 1 and self.screen.is_modal:
            self.pop_screen()
        self.switch_mode(mode)

    async def goto(self, mode: str, item_id: str | None = None) -> None:
        """Open a section, and in it one item (a link from another section)."""
        while len(self.screen_stack) > 1 and self.screen.is_modal:
            self.pop_screen()
        if self.current_mode != mode:
            await self.switch_mode(mode)
        if item_id is not None and hasattr(self.screen, "select_item"):
            self.screen.select_item(item_id)

    def action_toggle_lang(self, lang: str | None = None) -> None:
        self.lang = lang if lang in ("en", "zh") else ("zh" if self.lang == "en" else "en")
        try:
            prefs.save_lang(self.lang)
        except OSError as exc:
            self.notify(
                tr(self.lang, f"could not remember the language: {exc}", f"无法记住语言设置：{exc}"),
                severity="warning",
                markup=False,
            )
        self.update_lang_binding()
        screen = self.screen
        if hasattr(screen, "language_changed"):
            screen.language_changed()

    def update_lang_binding(self) -> None:
        localize_bindings(self, self.lang)
        self.refresh_bindings()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        screen = self.screen
        rows: list[tuple[str, str]] = []
        seen = set()
        for active in screen.active_bindings.values():
            b = active.binding
            if active.node not in (screen, self):  # scrolling keys of the focused widget
                continue
            if any(x in b.action for x in ("focus_", "copy", "command_palette")):
                continue
            if not active.enabled or b.action.startswith("section") or not b.description:
                continue
            if (b.action, b.description) in seen:
                continue
            seen.add((b.action, b.description))
            rows.append((self.get_key_display(b), b.description))
        lang = self.lang
        rows.append(
            (
                "1–7",
                tr(
                    lang,
                    "sections: " + ", ".join(s[2] for s in SECTIONS),
                    "分区：" + "、".join(s[3] for s in SECTIONS),
                ),
            )
        )
        rows.append(("ctrl+p", tr(lang, "command palette (every action)", "命令面板（所有操作）")))
        rows.append(("tab", tr(lang, "move between panes", "在面板之间移动")))
        about = ""
        if hasattr(screen, "HELP"):
            about = screen.HELP[1] if lang == "zh" else screen.HELP[0]
        title = tr(lang, "Keys", "按键")
        self.push_screen(HelpScreen(title, rows, about))

    # ------------------------------------------------------------------ the command palette

    def palette_commands(self, screen) -> list[tuple[str, str, Callable[[], Any]]]:
        lang = self.lang
        out: list[tuple[str, str, Callable[[], Any]]] = []
        for mode, key, en, zh in SECTIONS:
            out.append(
                (tr(lang, f"Go to {en}", f"转到{zh}"), f"key {key}", partial(self.action_section, mode))
            )
        out.append(
            (
                tr(lang, "Switch language (English / 中文)", "切换语言（English / 中文）"),
                "key l",
                self.action_toggle_lang,
            )
        )
        out.append((tr(lang, "Show the keys (help)", "显示按键（帮助）"), "key ?", self.action_help))
        out.append((tr(lang, "Quit", "退出"), "ctrl+q", self.exit))
        if hasattr(screen, "palette_commands"):
            out.extend(screen.palette_commands())
        return out

    def search_content(self, query: str) -> list[tuple[float, str, str, Callable[[], Any]]]:
        """Content whose id, title or text holds every word of ``query`` (either language):
        "q17" finds the question and what links to it; "flash" the question, insight, cards and
        exercise about FlashAttention. Each hit opens the item."""
        words = query.lower().split()
        core = self.core
        if not words or core is None:
            return []
        lang = self.lang
        content = core.content
        out: list[tuple[float, str, str, Callable[[], Any]]] = []

        def consider(name: str, kind: str, hay: list[str], links: tuple[str, ...], action) -> None:
            text = " ".join([name, *hay]).lower()
            linked = " ".join(links).lower()
            if not all(w in text or w in linked.split() for w in words):
                return
            in_name = all(w in name.lower() for w in words)
            score = 0.9 if in_name else (0.6 if all(w in text for w in words) else 0.4)
            out.append((score, name, kind, action))

        for q in content.questions:
            consider(
                f"Q{q.number} {q.title.get(lang)}",
                tr(lang, "question", "问题"),
                [q.id, q.title.en, q.title.zh, q.question.en, q.question.zh],
                q.insights + q.exercises,
                partial(self.goto, "questions", q.id),
            )
        for i in content.insights:
            consider(
                tr(lang, f"Insight {i.number}: ", f"要点 {i.number}：") + i.title.get(lang),
                tr(lang, "insight", "要点"),
                [i.id, i.title.en, i.title.zh, i.explanation.en, i.explanation.zh, i.formula or ""],
                i.questions,
                partial(self.goto, "insights", i.id),
            )
        for e in content.exercises:
            consider(
                tr(lang, f"Exercise {e.order}: ", f"练习 {e.order}：") + e.title.get(lang),
                tr(lang, "exercise", "练习") + f" · {e.id}",
                [e.id, e.title.en, e.title.zh],
                e.questions + e.checklist,
                partial(self.goto, "exercises", e.id),
            )
        for c in content.checklist:
            consider(
                tr(lang, f"Checklist {c.id}: ", f"清单 {c.id}：") + c.text.get(lang),
                tr(lang, "checklist", "清单"),
                [c.id, c.text.en, c.text.zh],
                c.questions + c.exercises,
                partial(self.goto, "checklist", c.id),
            )
        for card in content.cards:
            front = " ".join(card.prompt(lang).split())
            name = tr(lang, "Card: ", "卡片：") + (front if len(front) <= 70 else front[:69] + "…")
            consider(
                name,
                tr(lang, "card", "卡片") + f" · {card.id}",
                [card.id, card.prompt("en"), card.prompt("zh"), card.reveal("en"), card.reveal("zh")],
                card.questions + card.insights,
                partial(self.show_card, card.id),
            )
        out.sort(key=lambda h: -h[0])
        return out[:60]

    def show_card(self, card_id: str) -> None:
        """A card from the palette: its front and back (and what it belongs to)."""
        from studytool.tui.widgets import TextDialog

        card = self.core.content.item(card_id)
        lang = self.lang
        body = f"{card.prompt(lang)}\n\n{'─' * 20}\n{card.reveal(lang)}"
        links = [
            f"Q{self.core.content.item(q).number}"
            for q in card.questions
            if self.core.content.item(q) is not None
        ]
        if links:
            body += tr(lang, "\n\nQuestions: ", "\n\n问题：") + ", ".join(links)
        self.push_screen(TextDialog(tr(lang, f"Card {card.id}", f"卡片 {card.id}"), body, lang=lang))

    def get_system_commands(self, screen):  # keep the theme switcher & co. out of the way
        yield from ()


def run_app(app: StudyApp | None = None, *, headless: bool = False) -> int:
    """Run the app; when it quits, leave at once.

    Every write is already committed (one transaction per logical write, synchronous=FULL), so
    the interpreter's teardown (joining idle worker threads, clearing modules) has nothing left
    to save; skipping it takes ctrl+q to the shell prompt in well under 0.3 s. The grading
    service reads EOF on its stdin when this process is gone, and exits with its sandbox.
    """
    app = app or StudyApp()
    try:
        app.run(headless=headless)
        code = app.return_code or 0
    except KeyboardInterrupt:
        code = 130
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
