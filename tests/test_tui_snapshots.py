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
    assert snap_compare(
        _app(), terminal_size=size, run_before=_keys("3", "down", "down", "down", "g", "right")
    )


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_keys("2", "question_mark"))


@pytest.mark.parametrize("size", SIZES)
def test_today_chinese(snap_compare, size):
    assert snap_compare(_app(seed=True), terminal_size=size, run_before=_keys("l"))


# ---------------------------------------------------------------------------- issue 11: 80×24,
# English and Chinese, for every screen it touched (the footers, the wrapped lines under their
# labels, the key points, the exercise after a check, empty charts, the end of a session).

LANGS = [pytest.param("en", id="en"), pytest.param("zh", id="zh")]
SMALL = (80, 24)


def _lang_app(lang: str, seed: bool = False, exercises=None):
    from _tui_support import SNAPSHOT_EXERCISES

    core = make_core(exercises or SNAPSHOT_EXERCISES)
    if seed:
        seed_history(core)
    return make_app(core, lang=lang)


def _to_question():
    """Review, then bury cards until a question is shown (the first is Q13)."""

    async def run(pilot):
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = pilot.app.screen
        for _ in range(200):
            if screen.current.item.kind == "question":
                break
            await pilot.press("b")
        await pilot.press("space", "space", "down", "space")  # reveal, mark points 1 and 2
        await settle(pilot)

    return run


def _failed_check(pilot_keys=()):
    """Exercises after a failed check (a stored result: no grader needed for a picture)."""

    async def run(pilot):
        from studytool.tui.figures import sinusoidal_pe

        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        screen = pilot.app.screen
        await pilot.press("s")
        await settle(pilot)
        wrong = [[v * (1 if j % 4 else -1) for j, v in enumerate(row)] for row in sinusoidal_pe(32, 32)]
        screen.results["sinusoidal_pe"] = {
            "exercise": "sinusoidal_pe",
            "status": "fail",
            "passed": 2,
            "total": 4,
            "duration_s": 0.12,
            "tests": [
                {"name": "returns a float32 tensor of shape [seq_len, d_model]", "status": "pass"},
                {
                    "name": "position 0 is [0, 1, 0, 1, …] and columns (2i, 2i+1) are sin and cos "
                    "of one angle",
                    "status": "pass",
                },
                {
                    "name": "PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(…) at the default base",
                    "status": "fail",
                    "message": "the exponent uses i where 2i belongs: values differ at index "
                    "[1, 2] — expected 0.310984, got 0.533168",
                },
                {
                    "name": "uses the base argument (base = 100, 500, 1e6)",
                    "status": "fail",
                    "message": "base=100: values differ at index [1, 2]",
                },
            ],
            "figures": {"pe": wrong},
        }
        screen.show()
        await settle(pilot)
        for k in pilot_keys:
            await pilot.press(k)
            await settle(pilot)

    return run


def _end_of_session():
    async def run(pilot):
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        pilot.app.screen.session.limit = 2
        await pilot.press("space", "1", "space", "3")
        await settle(pilot)

    return run


@pytest.mark.parametrize("lang", LANGS)
def test_small_today(snap_compare, lang):
    assert snap_compare(_lang_app(lang, seed=True), terminal_size=SMALL, run_before=_keys())


@pytest.mark.parametrize("lang", LANGS)
def test_small_review_key_points(snap_compare, lang):
    assert snap_compare(_lang_app(lang), terminal_size=SMALL, run_before=_to_question())


@pytest.mark.parametrize("lang", LANGS)
def test_small_review_cram_revealed(snap_compare, lang):
    assert snap_compare(_lang_app(lang), terminal_size=SMALL, run_before=_keys("2", "c", "space"))


@pytest.mark.parametrize("lang", LANGS)
def test_small_review_end_of_session(snap_compare, lang):
    assert snap_compare(_lang_app(lang), terminal_size=SMALL, run_before=_end_of_session())


@pytest.mark.parametrize("lang", LANGS)
def test_small_questions_revealed(snap_compare, lang):
    assert snap_compare(_lang_app(lang), terminal_size=SMALL, run_before=_keys("3", "r"))


@pytest.mark.parametrize("lang", LANGS)
def test_small_insights(snap_compare, lang):
    assert snap_compare(_lang_app(lang), terminal_size=SMALL, run_before=_keys("4"))


@pytest.mark.parametrize("lang", LANGS)
def test_small_exercises(snap_compare, lang):
    assert snap_compare(_lang_app(lang), terminal_size=SMALL, run_before=_keys("5"))


@pytest.mark.parametrize("lang", LANGS)
def test_small_exercises_after_a_failed_check(snap_compare, lang):
    assert snap_compare(_lang_app(lang), terminal_size=SMALL, run_before=_failed_check())


@pytest.mark.parametrize("lang", LANGS)
def test_small_exercise_hint_for_the_failure(snap_compare, lang):
    assert snap_compare(_lang_app(lang), terminal_size=SMALL, run_before=_failed_check("h"))


@pytest.mark.parametrize("lang", LANGS)
def test_small_checklist(snap_compare, lang):
    assert snap_compare(_lang_app(lang), terminal_size=SMALL, run_before=_keys("6"))


@pytest.mark.parametrize("lang", LANGS)
def test_small_stats_empty(snap_compare, lang):
    assert snap_compare(_lang_app(lang), terminal_size=SMALL, run_before=_keys("7"))


@pytest.mark.parametrize("lang", LANGS)
def test_small_stats(snap_compare, lang):
    assert snap_compare(_lang_app(lang, seed=True), terminal_size=SMALL, run_before=_keys("7"))


@pytest.mark.parametrize("lang", LANGS)
def test_small_help(snap_compare, lang):
    assert snap_compare(_lang_app(lang), terminal_size=SMALL, run_before=_keys("2", "question_mark"))


@pytest.mark.parametrize("lang", LANGS)
def test_small_held_items(snap_compare, lang):
    assert snap_compare(_lang_app(lang), terminal_size=SMALL, run_before=_keys("2", "s", "b", "S"))
