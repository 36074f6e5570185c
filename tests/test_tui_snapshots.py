"""Snapshots of every screen at 80×24 and 120×40 (pytest-textual-snapshot).

Fixed clock (``_tui_support.NOW``), UTC, fsrs fuzz off, a fresh store (with a seeded review
history where the screen shows history), two fixed exercises, cursor blink off.
Update with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import pytest

from _tui_support import make_app, make_core, seed_history, settle

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def _app(seed: bool = False):
    core = make_core()
    if seed:
        seed_history(core)
    return make_app(core)


def _keys(*keys):
    async def run(pilot):
        await settle(pilot)
        for k in keys:
            await pilot.press(k)
            await settle(pilot)
    return run


@pytest.mark.parametrize("size", SIZES)
def test_today(snap_compare, size):
    assert snap_compare(_app(seed=True), terminal_size=size, run_before=_keys())


@pytest.mark.parametrize("size", SIZES)
def test_review_front(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_keys("2"))


@pytest.mark.parametrize("size", SIZES)
def test_review_revealed(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_keys("2", "space"))


@pytest.mark.parametrize("size", SIZES)
def test_questions_revealed(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_keys("3", "r"))


@pytest.mark.parametrize("size", SIZES)
def test_insights(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_keys("4"))


@pytest.mark.parametrize("size", SIZES)
def test_exercises(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_keys("5"))


@pytest.mark.parametrize("size", SIZES)
def test_checklist(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_keys("6"))


@pytest.mark.parametrize("size", SIZES)
def test_stats(snap_compare, size):
    assert snap_compare(_app(seed=True), terminal_size=size, run_before=_keys("7"))


@pytest.mark.parametrize("size", SIZES)
def test_figure_pe(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_keys("5", "g"))


@pytest.mark.parametrize("size", SIZES)
def test_figure_alibi(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_keys("3", "down", "down", "down",
                                                                     "g", "right"))


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_keys("2", "question_mark"))


@pytest.mark.parametrize("size", SIZES)
def test_today_chinese(snap_compare, size):
    assert snap_compare(_app(seed=True), terminal_size=size, run_before=_keys("l"))
