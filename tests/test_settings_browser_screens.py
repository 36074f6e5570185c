"""The app's Settings (`,`) and Browse (`B`) screens, driven with Textual's Pilot at 80×24."""

from __future__ import annotations

import pytest
from _tui_support import make_app, make_core, settle

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


def plain(static) -> str:
    """The text a Static shows (a Wrapped renderable or a string)."""
    content = static.content
    text = getattr(content, "text", content)
    return getattr(text, "plain", str(text))


async def test_settings_shows_meanings_and_a_wrong_value_changes_nothing(studytool_home):
    from studytool.config import load_config
    from studytool.tui.settings import SettingsScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("comma")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        ol = screen.query_one("#settings-list")
        assert ol.option_count == 9
        first = str(ol.get_option_at_index(0).prompt.text)
        assert first.startswith("new_per_day = 20") and "New cards introduced per study day" in first
        # desired_retention: down once, enter, a value out of range
        await pilot.press("down", "enter")
        field = screen.query_one("#settings-edit")
        assert field.has_class("editing") and field.value == "0.9"
        field.value = "1.5"
        await pilot.press("enter")
        await pilot.pause()
        status = plain(screen.query_one("#settings-status"))
        assert "must be a number from 0.7 to 0.99" in status and "nothing was changed" in status
        assert not (studytool_home / "config.toml").exists()
        field.value = "0.85"
        await pilot.press("enter")
        await pilot.pause()
        assert load_config().desired_retention == 0.85
        assert "Saved: desired_retention = 0.85" in plain(screen.query_one("#settings-status"))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SettingsScreen)
        assert app.core.config.desired_retention == 0.85  # the app follows it


async def test_settings_in_chinese(studytool_home):
    from studytool.tui.settings import SettingsScreen

    app = make_app(lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("comma")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        first = str(app.screen.query_one("#settings-list").get_option_at_index(0).prompt.text)
        assert "每个学习日引入的新卡片数" in first and "默认" in first


async def test_browse_searches_filters_suspends_and_shows_history(studytool_home):
    from studytool import srs
    from studytool.tui.browser import BrowserScreen

    core = make_core()
    items = srs.review_items(core.content)
    target = (
        next(it for it in items if it.id == "pe-permutation-invariance")
        if any(it.id == "pe-permutation-invariance" for it in items)
        else items[0]
    )
    srs.rate(core.store, target, 3, config=core.config)
    app = make_app(core=core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("B")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BrowserScreen)
        assert len(screen.rows) == len(items)
        for ch in target.id:
            await pilot.press(ch)
        await pilot.pause()
        assert [r.id for r in screen.rows] == [target.id]
        detail = plain(screen.query_one("#browser-detail-text"))
        assert "History (oldest first):" in detail and "Good" in detail
        await pilot.press("down")  # to the list
        await pilot.press("s")  # suspend it
        await pilot.pause()
        assert srs.suspended_items(core.store) == [target.id]
        assert screen.rows[0].suspended
        await pilot.press("s")  # and back
        await pilot.pause()
        assert srs.suspended_items(core.store) == []
        await pilot.press("escape")  # back to the search field
        for _ in target.id:
            await pilot.press("backspace")
        await pilot.press("down", "f")  # filter: new
        await pilot.pause()
        assert screen.filter == "new" and target.id not in {r.id for r in screen.rows}
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert not isinstance(app.screen, BrowserScreen)
