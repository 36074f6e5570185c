"""What every section screen shares: the section bar, the footer, loading, language, errors."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, OptionList, TextArea

from studytool.tui.widgets import SectionBar, tr

if TYPE_CHECKING:
    from studytool.tui.app import Core, StudyApp

log = logging.getLogger("studytool.tui")
F = TypeVar("F", bound=Callable[..., Any])


def guarded(fn: F) -> F:
    """Run an action; an exception becomes an error notification instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown to the learner, the app keeps running
            log.exception("action failed")
            zh = getattr(self.app, "lang", "en") == "zh"
            self.app.notify(
                f"{type(exc).__name__}: {exc}",
                title="出错了" if zh else "Error",
                severity="error",
                timeout=8,
                markup=False,
            )
            return None

    return wrapper  # type: ignore[return-value]


def focus_list(options: OptionList) -> None:
    """Give a list the keyboard with its first entry highlighted, so the first space or enter acts
    on it (a list focused without a highlight swallows that key)."""
    options.focus()
    if options.highlighted is None and options.option_count:
        options.highlighted = 0


class Section(Screen):
    """A section of the app (one per mode). Subclasses implement ``body()`` and ``load()``."""

    SECTION = ""
    HELP = ("", "")  # what this section is for (en, zh)
    # `?` first in every footer: at 80 columns the footer may not hold every key, `?` lists them
    BINDINGS = [Binding("question_mark", "app.help", "Help")]

    def compose(self) -> ComposeResult:
        yield SectionBar(self.SECTION, id="section-bar")
        yield from self.body()
        # the palette is listed by `?`; its footer entry would take the room of the section's keys
        yield Footer(compact=True, show_command_palette=False)

    def body(self) -> ComposeResult:
        yield from ()

    # -- conveniences

    @property
    def study(self) -> StudyApp:
        return self.app  # type: ignore[return-value]

    @property
    def core(self) -> Core | None:
        return self.study.core

    @property
    def lang(self) -> str:
        return self.study.lang

    def t(self, en: str, zh: str) -> str:
        return tr(self.lang, en, zh)

    # -- life cycle

    _bindings_lang = "en"  # BINDINGS are written in English

    def localize(self) -> None:
        """Key labels in the learner's language (only when it changed: each change rebuilds
        the footer)."""
        from studytool.tui.widgets import localize_tree

        if self._bindings_lang == self.lang:
            return
        localize_tree(self, self.lang)
        self._bindings_lang = self.lang
        self.refresh_bindings()

    def on_mount(self) -> None:
        self.localize()
        if not self.study.cursor_blink:  # tests and snapshots: a steady cursor
            for area in self.query(TextArea):
                area.cursor_blink = False
        self.update_bar()
        if self.core is not None:
            self.reload()

    def on_screen_resume(self) -> None:
        self.localize()
        self.update_bar()
        if self.core is not None:
            self.reload()

    def core_ready(self) -> None:
        self.reload()

    @guarded
    def reload(self) -> None:
        self.load()
        self.refresh_bindings()

    def load(self) -> None:
        """Fill the screen from the core (called when shown, and after the language changes)."""

    # -- screens whose numbers take a while compute them in a thread worker (never on the
    #    event loop); the result comes back as a call on the UI thread. A failure becomes the
    #    app's one error notification (StudyApp.on_worker_state_changed).

    def compute(self) -> Any:
        """The numbers of this screen (runs in a thread: read the core, touch no widget)."""
        return None

    def fill(self, data: Any) -> None:
        """Show what compute() returned (UI thread)."""

    # worker groups whose failure this screen leaves to the app's one notification (a screen
    # that reports its own workers' failures leaves them out)
    REPORT_ERRORS: tuple[str, ...] = ("compute-",)

    def on_worker_state_changed(self, event) -> None:
        if (event.worker.group or "").startswith(self.REPORT_ERRORS):
            self.study.report_worker(event)  # a failure: the app's one error notification

    _generation = 0

    def compute_in_worker(self) -> None:
        self._generation += 1
        self.run_worker(
            functools.partial(self._compute, self._generation),
            thread=True,
            exclusive=True,
            group=f"compute-{self.SECTION}",
            exit_on_error=False,
        )

    def _compute(self, generation: int) -> None:
        data = self.compute()
        self.app.call_from_thread(self._filled, data, generation)

    def _filled(self, data: Any, generation: int) -> None:
        # only the latest computation is drawn (an older one may finish after it)
        if self.is_attached and generation == self._generation:
            guarded(type(self).fill)(self, data)
            self.refresh_bindings()

    def language_changed(self) -> None:
        self.localize()
        self.update_bar()
        if self.core is not None:
            self.reload()

    # -- the section bar follows the focus (digits type in a text area)

    def typing(self) -> bool:
        return isinstance(self.focused, TextArea)

    def update_bar(self) -> None:
        try:
            self.query_one(SectionBar).update_bar(self.lang, self.typing())
        except Exception:  # noqa: BLE001 - not mounted yet
            pass

    def on_descendant_focus(self, event) -> None:
        self.update_bar()
        self.refresh_bindings()

    def on_descendant_blur(self, event) -> None:
        self.call_after_refresh(self.update_bar)
        self.call_after_refresh(self.refresh_bindings)

    # -- the command palette: every binding of this section that works now

    def palette_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        out = []
        seen = set()
        for active in self.active_bindings.values():
            b = active.binding
            if active.node is not self or not active.enabled or not b.description:
                continue
            if b.action in seen:
                continue
            seen.add(b.action)
            name = self.t(
                f"{self.section_label()}: {b.description}", f"{self.section_label()}：{b.description}"
            )
            out.append(
                (name, f"key {self.app.get_key_display(b)}", functools.partial(self.run_action, b.action))
            )
        out.extend(self.extra_commands())
        return out

    def extra_commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        return []

    def section_label(self) -> str:
        from studytool.tui.widgets import SECTIONS

        for mode, _, en, zh in SECTIONS:
            if mode == self.SECTION:
                return zh if self.lang == "zh" else en
        return self.SECTION

    def select_item(self, item_id: str) -> None:
        """Show one item (called when another section links here)."""
