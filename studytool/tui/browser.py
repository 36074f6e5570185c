"""Browse: every card and question on one screen, as Anki's browser — search (both languages),
filter by state, suspend or unsuspend, and the highlighted item's state and review history.

The core does the work (:mod:`studytool.srs.browse`); this screen draws it. Keys: type to search
(the field has the keyboard first; ↓ or tab goes to the list), ``f`` the next filter, ``s``
suspend/unsuspend, esc closes. All the words come from the catalogue (``browser.*``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from studytool.i18n import Msg, interval_label, rating_name, render, state_name, t, when_text
from studytool.srs.browse import FILTERS, CardRow, browse, history, set_suspended
from studytool.tui.wrapping import Wrapped


def status_text(row: CardRow, lang: str, now: datetime) -> str:
    """Due, suspended, buried or never studied — one short phrase."""
    if row.suspended:
        return t("browser.flag.suspended", lang)
    if row.buried_until is not None:
        return t("browser.flag.buried", lang, until=when_text(row.buried_until, now, lang))
    if row.due is None:
        return t("browser.never", lang)
    return t("browser.due", lang, when=when_text(max(row.due, now), now, lang))


class BrowserScreen(ModalScreen[bool]):
    """Dismisses with True when an item was suspended or unsuspended (a review session should
    rebuild its queue)."""

    DEFAULT_CSS = """
    BrowserScreen { align: center middle; }
    BrowserScreen > #browser-box {
        width: 100%; height: 100%; border: round $accent; background: $surface; padding: 0 1;
    }
    #browser-search { height: 3; }
    #browser-list { height: 1fr; min-height: 5; border: none; }
    #browser-detail { height: auto; max-height: 9; border-top: solid $panel-lighten-2; }
    #browser-keys { height: 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close", show=False),
        Binding("f", "next_filter", "Filter", show=False),
        Binding("s", "toggle_suspend", "Suspend", show=False),
        Binding("down", "to_list", "List", show=False),
    ]

    def __init__(
        self, store: Any, content: Any, lang: str = "en", *, now: datetime | None = None, config: Any = None
    ) -> None:
        super().__init__()
        self.store, self.content, self.lang = store, content, lang
        self.config = config
        self._now = now
        self.filter = "all"
        self.rows: list[CardRow] = []
        self.total = 0
        self.changed = False

    @property
    def now(self) -> datetime:
        if self._now is not None:
            return self._now
        from studytool.store import utcnow

        return utcnow()

    def compose(self) -> ComposeResult:
        with Vertical(id="browser-box"):
            yield Input(id="browser-search")
            yield OptionList(id="browser-list")
            with VerticalScroll(id="browser-detail"):
                yield Static(id="browser-detail-text")
            yield Static(RichText(t("browser.screen.keys", self.lang), style="dim"), id="browser-keys")

    def on_mount(self) -> None:
        search = self.query_one("#browser-search", Input)
        search.placeholder = t("browser.screen.search", self.lang)
        self.fill()
        search.focus()

    # ------------------------------------------------------------------ drawing

    def fill(self) -> None:
        query = self.query_one("#browser-search", Input).value
        self.rows = browse(
            self.store, self.content, query=query, state=self.filter, now=self.now, config=self.config
        )
        self.total = (
            len(browse(self.store, self.content, now=self.now, config=self.config))
            if query or self.filter != "all"
            else len(self.rows)
        )
        search = self.query_one("#browser-search", Input)
        search.border_title = t(
            "browser.screen.title",
            self.lang,
            filter=Msg(f"browser.filter.{self.filter}"),
            count=t("browser.count", self.lang, shown=len(self.rows), total=self.total),
        )
        ol = self.query_one("#browser-list", OptionList)
        keep = ol.highlighted
        ol.clear_options()
        now = self.now
        width = max(20, (self.app.size.width or 80) - 6)
        for row in self.rows:  # one line each (the detail below has the whole text)
            text = RichText(no_wrap=True, overflow="ellipsis")
            text.append(f"{row.id}  ", style="bold")
            text.append(state_name(row.state, self.lang) + "  ", style="cyan")
            text.append(status_text(row, self.lang, now) + "  ", style="yellow" if row.suspended else "dim")
            text.append(row.title(self.lang, 200))
            text.truncate(width, overflow="ellipsis")
            ol.add_option(Option(text, id=row.id))
        if not self.rows:
            ol.add_option(Option(t("browser.none", self.lang), disabled=True))
            self.show_detail(None)
            return
        ol.highlighted = min(keep or 0, len(self.rows) - 1)
        self.show_detail(self.rows[ol.highlighted])

    def show_detail(self, row: CardRow | None) -> None:
        out = RichText()
        if row is not None:
            from studytool.content import TOPIC_LABELS

            lang = self.lang
            na = t("browser.na", lang)
            topic = TOPIC_LABELS.get(row.item.topic, (row.item.topic, row.item.topic))[
                1 if lang == "zh" else 0
            ]
            out.append(
                t(
                    "browser.detail.head",
                    lang,
                    kind=Msg(f"review.kind.{row.item.type}"),
                    id=row.id,
                    topic=topic,
                    state=Msg(f"review.state.{row.state}"),
                )
                + "\n",
                style="bold",
            )
            out.append(row.title(lang, 400) + "\n")
            out.append(status_text(row, lang, self.now) + "\n", style="yellow")
            out.append(
                t(
                    "browser.detail.numbers",
                    lang,
                    reviews=row.reviews,
                    lapses=row.lapses,
                    stability=interval_label(timedelta(days=row.stability), lang) if row.stability else na,
                    recall=f"{row.retrievability:.0%}" if row.retrievability is not None else na,
                )
                + "\n"
            )
            entries = history(self.store, row.id)
            if not entries:
                out.append(t("browser.detail.no_history", lang), style="dim")
            else:
                out.append(t("browser.detail.history", lang) + "\n", style="bold")
                for e in entries:
                    out.append(
                        "  "
                        + t(
                            "browser.detail.entry",
                            lang,
                            at=e.at.astimezone().strftime("%Y-%m-%d %H:%M"),
                            rating=rating_name(e.rating, lang),
                            before=state_name(e.state_before, lang),
                            after=state_name(e.state_after, lang),
                            interval=interval_label(e.interval, lang),
                        )
                        + "\n"
                    )
        self.query_one("#browser-detail-text", Static).update(Wrapped(out, indent=2))

    # ------------------------------------------------------------------ events and actions

    def on_input_changed(self, event: Input.Changed) -> None:
        self.fill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_to_list()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if 0 <= event.option_index < len(self.rows):
            self.show_detail(self.rows[event.option_index])

    def action_to_list(self) -> None:
        ol = self.query_one("#browser-list", OptionList)
        if self.focused is self.query_one("#browser-search", Input) and self.rows:
            ol.focus()
            if ol.highlighted is None:
                ol.highlighted = 0

    def action_next_filter(self) -> None:
        if isinstance(self.focused, Input):
            self.focused.insert_text_at_cursor("f")
            return
        self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]
        self.fill()

    def action_toggle_suspend(self) -> None:
        if isinstance(self.focused, Input):
            self.focused.insert_text_at_cursor("s")
            return
        ol = self.query_one("#browser-list", OptionList)
        if ol.highlighted is None or not self.rows:
            return
        row = self.rows[ol.highlighted]
        set_suspended(self.store, self.content, row.id, not row.suspended)
        self.changed = True
        key = "browser.unsuspended" if row.suspended else "browser.suspended"
        self.notify(render(Msg(key, title=row.title(self.lang, 40)), self.lang), timeout=3)
        self.fill()

    def action_close(self) -> None:
        if isinstance(self.focused, OptionList):  # esc from the list goes back to the search first
            self.query_one("#browser-search", Input).focus()
            return
        self.dismiss(self.changed)
