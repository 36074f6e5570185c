"""Pilot tests of issue 11's flows: hints, the exercise after a check (failing first, the results
get the room, the figure, the hint for the failure, next exercise, cancel), the end of a review
session, the three counts, cram, undo titles, Chinese labels, the palette's content search."""

from __future__ import annotations

import pytest
from _tui_support import make_app, make_core, settle
from test_tui_app import SharedGrader, _errors, _footer, _text

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


# ---------------------------------------------------------------------------- hints (bug 3)


async def test_h_in_the_hint_popup_shows_the_next_hint_and_counts_only_what_is_shown():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        eid = app.screen.eid
        total = len(core.content.exercise(eid).hints)
        assert total >= 3
        await pilot.press("h")
        await pilot.pause()
        dialog = app.screen
        assert type(dialog).__name__ == "HintDialog"
        assert f"(1/{total})" in str(dialog.query_one("#dialog-title").content)
        assert core.store.hints_shown(eid) == 1
        await pilot.press("h")  # inside the popup: the next hint, shown and counted
        await pilot.pause()
        assert app.screen is dialog
        assert f"(2/{total})" in str(dialog.query_one("#dialog-title").content)
        assert "2. " in str(dialog.query_one("#dialog-body").content)
        assert core.store.hints_shown(eid) == 2
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("h")  # reopening shows what was seen, and counts nothing new
        await pilot.pause()
        assert f"(2/{total})" in str(app.screen.query_one("#dialog-title").content)
        assert core.store.hints_shown(eid) == 2
    assert not _errors(app)


# ---------------------------------------------------------------------------- exercises


async def test_after_start_the_footer_offers_edit_and_check_and_no_stray_ellipsis(studytool_home):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        assert "Start" in _footer(app) and "Edit" not in _footer(app)
        await pilot.press("s")
        await settle(pilot)
        footer = _footer(app)
        assert "Edit" in footer and "Check" in footer and "Start" not in footer
        status = str(app.screen.query_one("#x-status").content)
        assert "…" not in status and "e edits" in status and status.count("started") == 1
    assert not _errors(app)


WRONG_PE = """
import torch


def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):
    position = torch.arange(seq_len, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(0, d_model // 2, dtype=torch.float64)
    angle = position / (base ** (i / d_model))   # i where 2i belongs
    pe = torch.empty(seq_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe.to(torch.float32)
"""


@pytest.mark.sandbox
async def test_a_failed_check_shows_failures_first_with_room_figure_and_its_hint(
    grader_service, studytool_home
):
    from studytool import workspace
    from studytool.tui.widgets import Heatmap

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
        assert screen.query_one("#x-prompt-scroll").display  # the description, before a check
        workspace.workspace_file("sinusoidal_pe").write_text(WRONG_PE, encoding="utf-8")
        await pilot.press("c")
        await settle(pilot)
        result = screen.results["sinusoidal_pe"]
        assert result["status"] == "fail"
        failed = [t["name"] for t in result["tests"] if t["status"] != "pass"]
        passed = [t["name"] for t in result["tests"] if t["status"] == "pass"]
        assert failed and passed
        shown = str(screen.query_one("#x-results").content)
        # failing tests come first
        assert max(shown.index(n) for n in failed) < min(shown.index(n) for n in passed)
        # the description folds away and the results get the room
        assert not screen.query_one("#x-prompt-scroll").display
        assert screen.query_one("#x-results-scroll").size.height >= 12
        # the figure, without g: the learner's beside the reference
        maps = list(screen.query_one("#x-figure").query(Heatmap))
        assert len(maps) == 2, maps
        assert {m.panel.title for m in maps} == {"reference", "yours"}
        # d brings the description back
        await pilot.press("d")
        await pilot.pause()
        assert screen.query_one("#x-prompt-scroll").display
        # h answers the failure first: the hint keyed to the first failing test
        from studytool.content import hints_for_failure

        meta = core.content.exercise("sinusoidal_pe")
        keyed = hints_for_failure(meta, failed)[0]
        assert keyed != meta.hints[0]
        await pilot.press("h")
        await pilot.pause()
        body = str(app.screen.query_one("#dialog-body").content)
        assert keyed.en in body and meta.hints[0].en not in body
        await pilot.press("escape")
        await pilot.pause()

        # a pass names the checklist item it ticked, and n opens the next exercise
        workspace.workspace_file("sinusoidal_pe").write_text(
            workspace.solution_source("sinusoidal_pe"), encoding="utf-8"
        )
        await pilot.press("c")
        await settle(pilot)
        assert screen.results["sinusoidal_pe"]["status"] == "pass"
        ticked = [c for c in meta.checklist]
        assert ticked
        messages = " ".join(n.message for n in app._notifications)
        assert any(c in messages for c in ticked), messages
        assert "Next exercise" in _footer(app)
        await pilot.press("n")
        await settle(pilot)
        assert screen.eid == "causal_mask"
    assert not _errors(app)


@pytest.mark.sandbox
async def test_esc_cancels_a_running_check_without_quitting(studytool_home):
    import asyncio

    from studytool import workspace
    from studytool.grading import Grader

    core = make_core()
    grader = Grader(timeout_s=120)
    app = make_app(core, grader=grader)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("5")
            await settle(pilot)
            screen = app.screen
            await pilot.press("s")
            await settle(pilot)
            workspace.workspace_file("sinusoidal_pe").write_text(
                "import time\ntime.sleep(60)\n", encoding="utf-8"
            )
            await pilot.press("c")
            await pilot.pause()
            assert screen.checking == "sinusoidal_pe"
            assert "Cancel check" in _footer(app)
            for _ in range(100):  # until the service runs the check
                if grader.pid is not None:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            await pilot.press("escape")
            for _ in range(100):
                await asyncio.sleep(0.1)
                if screen.checking is None:
                    break
            await settle(pilot)
            assert screen.checking is None
            assert app.is_running and type(app.screen).__name__ == "ExercisesScreen"
            assert "cancelled" in str(screen.query_one("#x-status").content)
            assert not _errors(app)
    finally:
        grader.close()


# ---------------------------------------------------------------------------- review (bug 7, counts)


def _status(app) -> str:
    return str(app.screen.query_one("#review-status").content)


async def test_review_three_counts_bury_drops_them_undo_names_the_card_cram_says_no_change():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        before = screen.current.counts
        assert f"{before.new} new" in _status(app) and "learning" in _status(app)
        title = screen.session.title(screen.current.item.id, "en", 30)
        await pilot.press("b")
        await pilot.pause()
        after = screen.current.counts
        # as in Anki, a buried new card frees its place: the next new card takes it (h4a-srs)
        assert after.total == before.total if before.new >= core.config.new_per_day else before.total - 1
        assert f"{after.new} new" in _status(app)
        await pilot.press("u")
        await pilot.pause()
        assert title in _status(app) and screen.current.item.id not in _status(app)
        # cram: no intervals, it says so; turning it off stops saying cram
        await pilot.press("c")
        await pilot.pause()
        assert screen.cram and "CRAM" in _status(app)
        await pilot.press("space")
        await pilot.pause()
        ratings = str(screen.query_one("#review-ratings").content)
        assert "no change" in ratings
        assert not any(
            c.label_in("en") in ratings for c in screen.choices.values() if "cram" not in c.label_in("en")
        )
        assert "Cram off" in _footer(app)
        await pilot.press("c")
        await pilot.pause()
        assert not screen.cram
        assert "cram" not in _status(app).lower().replace("cram mode off", "")
        assert "CRAM" not in _status(app)
        assert "Cram off" not in _footer(app)
    assert not _errors(app)


async def test_end_of_session_says_what_was_done_when_next_and_what_next():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        screen.session.limit = 2
        for r in ("1", "3"):
            await pilot.press("space", r)
            await pilot.pause()
        assert screen.current is None
        shown = str(screen.query_one("#review-front").content)
        assert "Today: 2 reviews of 2 cards (again 1" in shown  # the day's totals (h4a-srs)
        assert "Next card due" in shown or "Still waiting" in shown
        assert "What next" in shown and "Keys" in shown and "new session" in shown
    assert not _errors(app)


async def test_chinese_mode_changes_footer_labels_status_ratings_and_help():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l", "2")
        await settle(pilot)
        await pilot.press("space")
        await pilot.pause()
        footer = _footer(app)
        assert "暂停" in footer and "Suspend" not in footer and "Quit" not in footer, footer
        ratings = str(app.screen.query_one("#review-ratings").content)
        assert "重来" in ratings and "Again" not in ratings
        assert "天" in ratings or "分钟" in ratings
        await pilot.press("3")
        await pilot.pause()
        assert "撤销" in _footer(app)
        status = _status(app)
        assert "良好" in status and "Good" not in status and "new" not in status
        await pilot.press("question_mark")
        await pilot.pause()
        helptext = str(app.screen.query_one("#help-box Static").content)
        assert "撤销" in helptext and "Undo" not in helptext
        await pilot.press("escape", "l")  # back to English: the labels follow
        await pilot.pause()
        assert "Undo" in _footer(app)
    assert not _errors(app)


async def test_suspended_and_buried_items_are_listed_and_restored_in_the_app():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = app.screen
        a = screen.current.item.id
        ta = screen.session.title(a, "en", 200)
        await pilot.press("s")
        await pilot.pause()
        b = screen.current.item.id
        await pilot.press("b")
        await pilot.pause()
        await pilot.press("S")
        await pilot.pause()
        held = app.screen
        assert type(held).__name__ == "HeldScreen"
        assert [h.item_id for h in held.held] == [a, b]
        assert "suspended" in str(held.query_one("#held-list").get_option_at_index(0).prompt)
        await pilot.press("enter")  # the suspended one goes back
        await pilot.pause()
        assert [h.item_id for h in held.held] == [b]
        assert (
            core.store.conn.execute("SELECT suspended FROM item_state WHERE item_id = ?", (a,)).fetchone()[0]
            == 0
        )
        assert any(ta[:20] in n.message for n in app._notifications)
        await pilot.press("space", "escape")  # and the buried one
        await pilot.pause()
        assert type(app.screen).__name__ == "ReviewScreen"
        assert {a, b} <= set(screen.session.items)
        assert screen.current.item.id in (a, b)  # back in the queue, shown first again
    assert not _errors(app)


# ---------------------------------------------------------------------------- the palette


async def test_palette_searches_the_content_and_opens_what_it_finds():
    core = make_core(exercises=None)
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        kinds = {h[2].split(" · ")[0] for h in app.search_content("flash")}
        assert {"question", "insight", "card", "exercise"} <= kinds, kinds
        names = [h[1] for h in app.search_content("q17")]
        assert names[0].startswith("Q17 ")
        assert any(n.startswith("Card:") for n in names) and any("Insight" in n for n in names)
        # through the palette itself: type, enter, and the question is open
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"q17")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "QuestionsScreen"
        assert app.screen.qid == "q17"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"flash_att")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "ExercisesScreen"
        assert app.screen.eid == "flash_attention"
    assert not _errors(app)


async def test_key_points_are_wrapped_in_full_never_cut_with_an_ellipsis():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3", "r")
        await settle(pilot)
        q = core.content.question(app.screen.qid)
        points = app.screen.query_one("#q-points")
        lines = [ln.plain for b in points._blocks() for ln in b.lines(points.content_region.width)]
        shown = " ".join(" ".join(ln.split()) for ln in lines)
        for kp in q.key_points:
            assert " ".join(kp.en.split()) in shown, kp.en
        assert "…" not in shown or any("…" in kp.en for kp in q.key_points)
        assert points.size.height == len(lines)  # every line is on the screen, none clipped
        # and `?` leads the footer, so that it is never the key cut off at 80 columns
        assert _footer(app).split()[0] == "Help"
    assert not _errors(app)


async def test_today_and_stats_compute_in_a_worker_thread(monkeypatch):
    import threading

    import studytool.stats
    import studytool.today

    threads = {}
    real_today, real_stats = studytool.today.today, studytool.stats.compute_stats

    def spy_today(*a, **k):
        threads["today"] = threading.current_thread()
        return real_today(*a, **k)

    def spy_stats(*a, **k):
        threads["stats"] = threading.current_thread()
        return real_stats(*a, **k)

    monkeypatch.setattr(studytool.today, "today", spy_today)
    monkeypatch.setattr(studytool.stats, "compute_stats", spy_stats)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        assert "Retention" in _text(app)
        assert "Due now" in _text(app) or True
    assert set(threads) == {"today", "stats"}
    assert all(t is not threading.main_thread() for t in threads.values()), threads


async def test_a_failure_in_a_worker_is_one_error_notification(monkeypatch):
    import studytool.stats

    def boom(*a, **k):
        raise RuntimeError("stats on fire")

    monkeypatch.setattr(studytool.stats, "compute_stats", boom)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        assert app.is_running and type(app.screen).__name__ == "StatsScreen"
    assert [e for e in _errors(app) if "stats on fire" in e] == ["RuntimeError: stats on fire"]


def test_chinese_exercise_prompts_wrap_like_chinese():
    from studytool.content import default_content
    from studytool.textwrap_cjk import CLOSING, cell_width
    from studytool.tui.mdtext import markdown_blocks

    content, _ = default_content()
    for ex in content.exercises:
        blocks = markdown_blocks(ex.prompt("zh"))
        for width in (40, 48, 60, 80):
            for b in blocks.items:
                lines = [ln.plain for ln in (b.lines(width) if hasattr(b, "lines") else [b])]
                for k, ln in enumerate(lines):
                    assert cell_width(ln) <= width, (ex.id, width, ln)
                    if k:  # a line the wrapping made (a paragraph may start with a dash)
                        assert ln.lstrip()[:1] not in CLOSING, (ex.id, width, lines[k - 1], ln)


async def test_palette_commands_are_in_chinese_too():
    app = make_app(lang="zh")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        names = [n for n, _, _ in app.palette_commands(app.screen)]
        assert "转到复习" in names and "复习：翻面" in names, names
        assert not any(n.startswith("Go to") or "Reveal" in n for n in names)


async def test_a_grading_failure_is_one_notification_and_the_screen_recovers(studytool_home):
    class Broken:
        def start(self):
            return self

        def check(self, *a, **k):
            raise RuntimeError("grader on fire")

        def close(self):
            pass

    app = make_app(make_core(), grader=Broken())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert app.screen.checking is None and "Check" in _footer(app)
    assert _errors(app) == ["RuntimeError: grader on fire"]


async def test_today_and_review_show_the_same_counts():
    from _tui_support import seed_history

    core = make_core()
    seed_history(core)
    app = make_app(core)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = _text(app)
        await pilot.press("2")
        await settle(pilot)
        from _tui_support import NOW

        from studytool.scheduler import review_counts

        rc = review_counts(core.store, core.content, now=NOW, config=core.config)
        assert (f"Due now {rc.learning + rc.review} ({rc.learning} learning, {rc.review} review)") in shown, (
            shown
        )
        assert f"New today {rc.new}" in shown, shown
        # Review: the same numbers, the item on the screen included (as Anki counts; h4a-srs)
        assert app.screen.current.counts.total == rc.total
    assert not _errors(app)


def test_key_labels_translate_both_ways():
    from studytool.tui.widgets import BINDING_ZH, binding_label

    assert len(set(BINDING_ZH.values())) == len(BINDING_ZH)  # one English label per Chinese one
    for en, zh in BINDING_ZH.items():
        assert binding_label(en, "zh") == zh and binding_label(zh, "en") == en
