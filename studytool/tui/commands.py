"""The command palette (ctrl+p): every action of the app, and the content itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from studytool.tui.app import StudyApp


def _highlight(name: str, query: str):
    from rich.text import Text as RichText

    t = RichText(name)
    low = name.lower()
    for word in query.lower().split():
        start = low.find(word)
        if start >= 0:
            t.stylize("bold reverse", start, start + len(word))
    return t


class StudyCommands(Provider):
    """Every action of the app in the command palette (ctrl+p)."""

    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app: StudyApp = self.app  # type: ignore[assignment]
        return app.palette_commands(self.screen)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
        # the content itself: questions, insights, cards, exercises, checklist items
        app: StudyApp = self.app  # type: ignore[assignment]
        for score, name, help_text, callback in app.search_content(query):
            yield Hit(score, _highlight(name, query), callback, help=help_text)

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)
