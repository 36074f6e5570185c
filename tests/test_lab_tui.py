"""The 8 Lab screen at 80×24: Pilot (pick, run quick in the sandbox, cancel with esc) and
snapshots in English and Chinese of a stored run."""

from __future__ import annotations

import os

import pytest
from _tui_support import NOW, make_app, make_core, settle

from studytool import lab
from studytool.store import to_iso, utcnow

SIZE = (80, 24)


def _stored_run(core, quick=False):
    """A completed layernorm run with fixed numbers and a fixed time (no sandbox)."""
    s = lab.experiment("layernorm").settings(quick)
    gd = s["grad_depths"]
    raw = {
        "final_loss": {
            "pre": {"warmup": [1.12, 1.13, 1.11], "no_warmup": [1.11, 1.14, 1.12]},
            "post": {"warmup": [1.14, 1.18, 2.05], "no_warmup": [1.13, 1.81, 2.06]},
        },
        "grad_norm_last_layer": {
            "depths": gd,
            "pre": [0.9 / d**0.34 for d in gd],
            "post": [0.2 * d**0.36 for d in gd],
        },
    }
    results, verdict = lab.check_layernorm(s, raw)
    exp = lab.experiment("layernorm")
    r = lab.record_run(
        core.store,
        experiment="layernorm",
        status="completed",
        quick=quick,
        seed=0,
        settings=s,
        sources={"prenorm_postnorm": "yours"},
        results=results,
        reproduced=verdict.reproduced,
        verdict={"findings": verdict.findings, "caveats": list(exp.caveats)},
        environment={"torch": "2.x", "threads": 1, "workers": 2},
        error=None,
        duration_s=61.0,
        started_at=utcnow(),
    )
    with core.store.tx():
        core.store.conn.execute(
            "UPDATE lab_runs SET started_at = ?, finished_at = ? WHERE id = ?",
            (to_iso(NOW), to_iso(NOW), r.id),
        )
    return r


async def _until_idle(pilot, seconds: float = 120.0) -> None:
    for _ in range(int(seconds / 0.05)):
        await settle(pilot)
        if pilot.app.screen.running is None:
            return
        await pilot.pause(0.05)
    raise AssertionError("the run did not end")


def _screen_text(app) -> str:
    from textual.widgets import Static

    return "\n".join(str(w.content) for w in app.screen.query(Static))


@pytest.mark.anyio
async def test_lab_lists_experiments_and_shows_a_stored_run():
    core = make_core()
    _stored_run(core)
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("8")
        await settle(pilot)
        from textual.widgets import OptionList

        ol = app.screen.query_one("#lab-list", OptionList)
        assert ol.option_count == 4
        assert [ol.get_option_at_index(i).id for i in range(4)] == list(lab.EXPERIMENTS)
        await pilot.press("down")
        await settle(pilot)
        text = _screen_text(app)
        assert "Xiong" in text  # the paper's claim
        assert "This run reproduced the claim." in text  # beside what was measured
        assert "prenorm_postnorm yours" in text
        assert app.screen.query_one("#lab-plot-0").display
        assert "✓" in str(ol.get_option_at_index(1).prompt)


@pytest.mark.anyio
@pytest.mark.sandbox
async def test_lab_quick_run_from_the_screen_is_stored():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("8")
        await settle(pilot)
        for _ in range(3):
            await pilot.press("down")
        await pilot.press("k")
        await pilot.pause()
        assert app.screen.running == "kv_decode"
        assert app.screen.query_one("#lab-progress").display
        await _until_idle(pilot)
        runs = lab.runs(core.store)
        assert [(r.experiment, r.status, r.quick) for r in runs] == [("kv_decode", "completed", True)]
        assert "Run #1" in _screen_text(app)


@pytest.mark.anyio
@pytest.mark.sandbox
async def test_esc_cancels_a_run_and_nothing_is_stored_as_complete():
    core = make_core()
    app = make_app(core)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("8")
        await settle(pilot)
        await pilot.press("r")  # extrapolation, default settings: minutes
        for _ in range(600):
            await pilot.pause(0.05)
            if app.screen.query_one("#lab-progress").progress > 0:
                break
        await pilot.press("escape")
        await _until_idle(pilot)
        runs = lab.runs(core.store)
        assert [(r.status, r.results) for r in runs] == [("cancelled", None)]
        assert lab.completed_experiments(core.store) == {}
    procs = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    env = f.read()
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if b"studytool.grader.lab.runner" in cmd and str(core.store.path).encode() in env:
                procs.append(int(name))
    assert procs == []


def _snap_app(lang):
    core = make_core()
    _stored_run(core)
    return make_app(core, lang=lang) if lang != "en" else make_app(core)


async def _to_lab(pilot):
    await settle(pilot)
    await pilot.press("8")
    await settle(pilot)
    await pilot.press("down")
    await settle(pilot)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lab_snapshot(snap_compare, lang):
    app = _snap_app(lang)
    assert snap_compare(app, terminal_size=SIZE, run_before=_to_lab)
