"""Settings: the scheduling settings an Anki user looks for in "deck options" — new cards per day,
desired retention, learning steps, day start… — each with its value, its default and what it means.

Enter edits the highlighted setting; the new value is checked by the core
(:func:`studytool.config.set_value`: the whole file as it would be) and written only then, so a
wrong value is a message on screen and nothing is lost. ``r`` puts the default back; esc closes.
The app reloads its settings when the screen closes (the next review session follows them).
All the words come from the catalogue (``config.*``).
"""

from __future__ import annotations

from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from studytool import locations
from studytool.config import Config, ConfigError, describe, load_config, set_value, unset_value, value_text
from studytool.i18n import render, t
from studytool.tui.wrapping import Wrapped


class SettingsScreen(ModalScreen[bool]):
    """Dismisses with True when a setting was changed."""

    DEFAULT_CSS = """
    SettingsScreen { align: center middle; }
    SettingsScreen > #settings-box {
        width: 100%; max-width: 100; height: 100%; max-height: 40;
        border: round $accent; background: $surface; padding: 0 1;
    }
    #settings-title { height: auto; }
    #settings-list { height: 1fr; border: none; }
    #settings-edit { display: none; }
    #settings-edit.editing { display: block; }
    #settings-status { height: auto; }
    #settings-keys { height: 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "close", "Close", show=False),
        Binding("r", "reset", "Default", show=False),
    ]

    def __init__(self, lang: str = "en") -> None:
        super().__init__()
        self.lang = lang
        self.changed = False
        self.editing: str | None = None
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="settings-box"):
            yield Static(id="settings-title")
            yield OptionList(id="settings-list")
            yield Input(id="settings-edit")
            yield Static(id="settings-status")
            yield Static(RichText(t("config.screen.keys", self.lang), style="dim"), id="settings-keys")

    def on_mount(self) -> None:
        self.fill()
        self.query_one("#settings-list", OptionList).focus()

    # ------------------------------------------------------------------ drawing

    def _config(self) -> Config:
        try:
            config = load_config()
        except ConfigError as exc:  # shown, and the list shows what is in force: the defaults
            self.error = render(exc.msg, self.lang)
            return Config()
        self.error = None
        return config

    def fill(self) -> None:
        config = self._config()
        title = RichText(t("config.screen.title", self.lang), style="bold")
        title.append("  " + str(locations.config_path()), style="dim")
        if self.error:
            title.append("\n" + t("config.screen.broken", self.lang, error=self.error), style="bold red")
        self.query_one("#settings-title", Static).update(title)
        ol = self.query_one("#settings-list", OptionList)
        keep = ol.highlighted
        ol.clear_options()
        for s in describe(config):
            text = RichText()
            text.append(f"{s.key} = {s.value}", style="bold")
            if s.is_default:
                text.append("  " + t("config.default_mark", self.lang), style="dim")
            else:
                text.append("  " + t("config.changed_mark", self.lang, default=s.default), style="yellow")
            text.append("\n" + render(s.meaning, self.lang))
            text.append("\n" + t("config.allowed_line", self.lang, allowed=s.allowed), style="dim")
            ol.add_option(Option(Wrapped(text, indent=2), id=s.key))
        ol.highlighted = keep if keep is not None else 0

    def _say(self, text: str, style: str) -> None:
        self.query_one("#settings-status", Static).update(Wrapped(RichText(text, style=style)))

    def _highlighted_key(self) -> str | None:
        ol = self.query_one("#settings-list", OptionList)
        if ol.highlighted is None:
            return None
        return ol.get_option_at_index(ol.highlighted).id

    # ------------------------------------------------------------------ actions

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        key = event.option.id
        if key is None:
            return
        self.editing = key
        field = self.query_one("#settings-edit", Input)
        field.value = value_text(key, self._config())
        field.placeholder = key
        field.border_title = t("config.screen.editing", self.lang, name=key)
        field.add_class("editing")
        field.focus()
        self._say(t("config.screen.edit_hint", self.lang), "dim")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        key = self.editing
        if key is None:
            return
        try:
            config = set_value(key, event.value)
        except ConfigError as exc:
            self._say(render(exc.msg, self.lang), "bold red")  # the field keeps what was typed
            return
        self.changed = True
        self._leave_edit()
        self.fill()
        self._say(t("config.screen.saved", self.lang, name=key, value=value_text(key, config)), "green")

    def _leave_edit(self) -> None:
        self.editing = None
        field = self.query_one("#settings-edit", Input)
        field.remove_class("editing")
        self.query_one("#settings-list", OptionList).focus()

    def action_reset(self) -> None:
        if self.editing is not None:
            return
        key = self._highlighted_key()
        if key is None:
            return
        try:
            config = unset_value(key)
        except ConfigError as exc:
            self._say(render(exc.msg, self.lang), "bold red")
            return
        self.changed = True
        self.fill()
        self._say(t("config.reset", self.lang, name=key, value=value_text(key, config)), "green")

    def action_close(self) -> None:
        if self.editing is not None:  # esc leaves the field first; nothing was written
            self._leave_edit()
            self._say("", "dim")
            return
        self.dismiss(self.changed)
