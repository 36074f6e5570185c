"""Pilot tests of the Textual app: every section and the main flows (no torch in this process;
grading goes through the shared warm grading service)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from _tui_support import NOW, make_app, make_core, seed_history, settle
from textual.widgets import OptionList, TextArea

from studytool.tui.widgets import KeyPoints

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


SECTIONS = {
    "1": "TodayScreen",
    "2": "ReviewScreen",
    "3": "QuestionsScreen",
    "4": "InsightsScreen",
    "5": "ExercisesScreen",
    "6": "ChecklistScreen",
    "7": "StatsScreen",
}


def _text(app) -> str:
    """Everything the screen shows, as plain text."""
    return "\n".join(str(w.content) for w in app.screen.query("Static"))


def _footer(app) -> str:
    """The labels the footer shows now."""
    return " ".join(
        b.binding.description for b in app.screen.active_bindings.values() if b.binding.show and b.enabled
    )


def _errors(app) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


async def test_every_section_opens_with_its_key_and_shows_content():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        expected = {
            "1": "Due now",
            "2": "space",
            "3": "Q13",
            "4": "Position encoding is",
            "5": "Sinusoidal",
            "6": "t01",
            "7": "Retention",
        }
        for key, screen in SECTIONS.items():
            await pilot.press(key)
            await settle(pilot)
            assert type(app.screen).__name__ == screen
            shown = _text(app) + "".join(
                str(o.prompt) for ol in app.screen.query(OptionList) for o in ol._options
            )
            assert expected[key] in shown, (key, shown[:500])
        assert not _errors(app)


async def test_core_loads_in_a_worker_when_not_given(tmp_path):
    from studytool.tui.app import StudyApp

    app = StudyApp(warm=False, cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.core is not None
        assert "Due now" in _text(app)
    assert not _errors(app)


async def test_review_reveal_rate_and_undo():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        first = screen.current.item.id
        assert not screen.revealed
        # 1–4 before the reveal do not rate (3 switches section, so use 2: the same section)
        await pilot.press("space")
        await pilot.pause()
        assert screen.revealed
        ratings = str(screen.query_one("#review-ratings").render())
        assert "Again" in ratings and "Easy" in ratings
        await pilot.press("3")  # Good — rates, does not switch to Questions
        await pilot.pause()
        assert type(app.screen).__name__ == "ReviewScreen"
        assert core.store.conn.execute("SELECT COUNT(*) FROM review_log").fetchone()[0] == 1
        assert screen.current.item.id != first
        await pilot.press("u")
        await pilot.pause()
        assert screen.current.item.id == first
        assert core.store.conn.execute("SELECT COUNT(*) FROM review_log").fetchone()[0] == 0
        assert (
            core.store.conn.execute(
                "SELECT COUNT(*) FROM item_state WHERE json_extract(card_json,'$.last_review') IS NOT NULL"
            ).fetchone()[0]
            == 0
        )
    assert not _errors(app)


async def test_review_digits_switch_sections_until_revealed():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("1")
        await settle(pilot)
        assert type(app.screen).__name__ == "TodayScreen"


async def test_review_suspend_bury_and_session_summary():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        a = screen.current.item.id
        await pilot.press("s")
        await pilot.pause()
        assert a in {
            r[0] for r in core.store.conn.execute("SELECT item_id FROM item_state WHERE suspended = 1")
        }
        b = screen.current.item.id
        await pilot.press("b")
        await pilot.pause()
        assert screen.current.item.id not in (a, b)
        await pilot.press("u", "u")
        await pilot.pause()
        assert screen.current.item.id == a
        # a short session ends with a summary
        screen.session.limit = 1
        await pilot.press("space", "4")
        await pilot.pause()
        assert screen.current is None
        assert "Today: 1 review of 1 card" in _text(app)  # the day's totals (h4a-srs)


async def test_review_a_question_with_typed_answer_and_key_points():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        # bring a question up: skip cards by burying them (undo-able, but fine here)
        for _ in range(200):
            if screen.current.item.kind == "question":
                break
            await pilot.press("b")
        assert screen.current.item.kind == "question"
        qid = screen.current.item.id
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.focused, TextArea)
        await pilot.press("1", "2", "3", "space", "x")  # digits type while in the text area
        assert type(app.screen).__name__ == "ReviewScreen"
        assert app.focused.text == "123 x"
        await pilot.press("escape", "space")
        await pilot.pause()
        assert screen.revealed
        points = screen.query_one("#review-points", KeyPoints)
        assert app.focused is points
        # the keys are on the screen and in the footer, and they are not the digits
        assert "space marks" in _text(app)
        assert "Mark point" in _footer(app)
        await pilot.press("space")  # marks the first key point
        await pilot.pause()
        assert points.selected == [0]
        await pilot.press("down", "space", "down", "x", "x")  # x marks too, and unmarks
        await pilot.pause()
        assert points.selected == [0, 1]
        assert "Recalled 2/" in str(screen.query_one("#review-suggest").content)
        for _ in range(points.option_count):
            await pilot.press("down")
            if points.cursor not in points.marked:
                await pilot.press("space")
        await pilot.pause()
        assert points.selected == list(range(points.option_count))
        assert "suggested" in str(screen.query_one("#review-suggest").content)
        await pilot.press("3")
        await pilot.pause()
        attempts = core.store.question_attempts(qid)
        assert attempts and attempts[-1].answer_text == "123 x"
        assert attempts[-1].recalled == list(range(attempts[-1].total_points))


async def test_answer_a_question_reveal_and_save():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        screen = app.screen
        assert screen.qid == "q13"
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.focused, TextArea)
        await pilot.press(*"attention is order blind 4")
        assert type(app.screen).__name__ == "QuestionsScreen"  # '4' typed, no switch
        await pilot.press("escape", "r")
        await pilot.pause()
        assert "q13" in screen.revealed
        shown = _text(app)
        assert "Model answer" in shown and "Misconception checks" in shown
        # the keyboard is on the answer, not on the list: PageDown scrolls the answer
        detail = screen.query_one("#q-detail")
        assert app.focused is detail
        await pilot.press("pagedown")
        await pilot.pause()
        assert screen.qid == "q13" and detail.scroll_y > 0
        # the focused pane is marked, the other is not
        assert detail.styles.border_left[0] == "thick"
        assert screen.query_one("#q-list").parent.query_one(".side").styles.border_right[0] != "thick"
        await pilot.press("tab")
        await pilot.pause()
        points = screen.query_one("#q-points", KeyPoints)
        assert app.focused is points
        await pilot.press("space")
        await pilot.pause()
        assert points.selected == [0]
        for _ in range(points.option_count - 1):
            await pilot.press("down", "space")
        await pilot.pause()
        assert points.selected == list(range(points.option_count))
        await pilot.press("s")
        await pilot.pause()
        a = core.store.question_attempts("q13")[-1]
        assert a.answer_text == "attention is order blind 4"
        assert a.rating == 3 and len(a.recalled) == a.total_points


async def test_insights_links_open_question_and_figure():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("down")  # insight 2: sinusoidal encoding (linked to Q14 → figure)
        await pilot.pause()
        await pilot.press("g")
        await pilot.pause()
        assert type(app.screen).__name__ == "FigureScreen"
        await pilot.press("escape")
        await pilot.press("c")
        await pilot.pause()
        assert type(app.screen).__name__ == "TextDialog"
        await pilot.press("escape", "q")
        await settle(pilot)
        assert type(app.screen).__name__ == "QuestionsScreen"
        assert app.screen.qid == "q14"


async def test_checklist_tick_and_untick():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("space")
        await pilot.pause()
        assert core.store.ticks()["t01"].done
        assert "[x] t01" in "".join(str(o.prompt) for o in app.screen.query_one(OptionList)._options)
        await pilot.press("space")
        await pilot.pause()
        assert not core.store.ticks()["t01"].done


async def test_language_switch_is_remembered(studytool_home):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await pilot.pause()
        assert app.lang == "zh"
        assert "待复习" in _text(app)
        await pilot.press("3")
        await settle(pilot)
        assert "为什么需要位置编码" in "".join(
            str(o.prompt) for o in app.screen.query_one(OptionList)._options
        )
    assert json.loads((studytool_home / "ui.json").read_text())["lang"] == "zh"
    app2 = make_app()
    async with app2.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app2.lang == "zh"
        await pilot.press("l")
        await pilot.pause()
        assert "Due now" in _text(app2)


async def test_help_palette_and_quit():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        names = [n for n, _, _ in app.palette_commands(app.screen)]
        assert any("Go to Exercises" in n for n in names)
        assert any("Review: Reveal" in n for n in names)
        assert any("language" in n for n in names)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"go to check")
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "ChecklistScreen"
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


async def test_today_next_step_goes_to_review():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert type(app.screen).__name__ == "ReviewScreen"


async def test_stats_with_history():
    core = make_core()
    seed_history(core)
    app = make_app(core)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        assert "Retention" in _text(app)
        assert not _errors(app)


class SharedGrader:
    """The session's warm grading service, recording attempts as the app's own client does."""

    def __init__(self, service):
        self.service = service

    def start(self):
        return self

    def check(self, exercise_id, file=None, **kw):
        return self.service.check(exercise_id, file, record=True, **kw)

    def close(self):
        pass


@pytest.mark.sandbox
async def test_start_and_check_an_exercise_with_results_as_they_arrive(grader_service, studytool_home):
    from studytool import workspace

    core = make_core()
    app = make_app(core, grader=SharedGrader(grader_service))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        screen = app.screen
        assert screen.eid == "sinusoidal_pe"
        await pilot.press("s")
        await settle(pilot)
        path = workspace.workspace_file("sinusoidal_pe")
        assert path.exists()
        arrived = []
        original = screen._test_arrived

        def spy(eid, ev):
            arrived.append(ev)
            original(eid, ev)

        screen._test_arrived = spy
        await pilot.press("c")  # returns at once: the grade runs in a worker
        assert screen.checking == "sinusoidal_pe" or "sinusoidal_pe" in screen.results
        await settle(pilot)
        assert screen.checking is None
        assert arrived, "no per-test event arrived before the end"
        result = screen.results["sinusoidal_pe"]
        assert result["status"] in ("fail", "error")
        assert "NotImplementedError" in _text(app)
        assert core.store.exercise_summary()["sinusoidal_pe"].attempts == 1

        # now a correct answer passes (the reference itself, written into the workspace)
        path.write_text(workspace.solution_source("sinusoidal_pe"), encoding="utf-8")
        await pilot.press("c")
        await pilot.pause()
        await settle(pilot)
        assert screen.results["sinusoidal_pe"]["status"] == "pass", screen.results
        assert "passed" in _text(app)
        await pilot.press("g")  # the figure: the reference matrix
        await pilot.pause()
        assert type(app.screen).__name__ == "FigureScreen"
        await pilot.press("escape", "h")
        await pilot.pause()
        assert type(app.screen).__name__ == "HintDialog"
    assert not _errors(app)


async def test_errors_become_notifications_not_tracebacks(monkeypatch):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        import studytool.checklist

        def boom(*a, **k):
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(studytool.checklist, "set_done", boom)
        await pilot.press("space")
        await pilot.pause()
        assert any("disk on fire" in m for m in _errors(app))
        assert app.is_running


def test_tui_start_never_imports_torch(tmp_path):
    code = (
        "import sys, asyncio\n"
        "from studytool.tui.app import StudyApp\n"
        "async def main():\n"
        "    app = StudyApp(warm=False)\n"
        "    async with app.run_test() as pilot:\n"
        "        await app.workers.wait_for_complete()\n"
        "        for k in '1234567':\n"
        "            await pilot.press(k)\n"
        "            await pilot.pause()\n"
        "asyncio.run(main())\n"
        "print('torch' in sys.modules)\n"
    )
    import os

    env = dict(os.environ, STUDYTOOL_HOME=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.sandbox
async def test_watch_regrades_on_save(grader_service):
    import asyncio

    from studytool import workspace

    app = make_app(make_core(), grader=SharedGrader(grader_service))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        screen = app.screen
        await pilot.press("down")  # causal_mask
        await pilot.pause()
        assert screen.eid == "causal_mask"
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause(0.5)
        assert screen.watching == "causal_mask"
        path = workspace.workspace_file("causal_mask")
        path.write_text(workspace.solution_source("causal_mask"), encoding="utf-8")
        for _ in range(120):
            await asyncio.sleep(0.25)
            if screen.results.get("causal_mask", {}).get("status") == "pass":
                break
        assert screen.results["causal_mask"]["status"] == "pass"
        await pilot.press("w")
        await pilot.pause()
        assert screen.watching is None


async def test_today_counts_the_new_items_a_session_would_offer():
    # suspended and buried new items are not "new today": Today must not send the learner to a
    # review session that then has nothing to show
    from dataclasses import replace

    from studytool import scheduler as sch

    core = make_core()
    core.config = replace(core.config, new_per_day=500)
    items = sch.review_items(core.content)
    sch.suspend(core.store, items[0].id, items[0].kind, now=NOW)
    sch.bury(core.store, items[1].id, items[1].kind, now=NOW, config=core.config)
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = _text(app)
        assert f"New today {len(items) - 2}" in shown, shown[:300]
        await pilot.press("2")
        await settle(pilot)
        # the item on screen has been taken from the queue already
        assert app.screen.session.queue.counts(NOW)["new"] + 1 == len(items) - 2
    assert not _errors(app)
