"""`studytool doctor` reports every unhealthy part as a problem (exit 1), never "ok" over one."""

from __future__ import annotations

import json

import pytest

from studytool.cli import main

SANDBOX_OK = {"ok": True, "mode": "bwrap", "summary": "bubblewrap (test)", "notes": []}


@pytest.fixture
def sandbox(monkeypatch):
    report = dict(SANDBOX_OK)
    monkeypatch.setattr("studytool.grading.isolation_report", lambda: dict(report))
    return report


def test_healthy(studytool_home, sandbox, capsys):
    assert main(["doctor"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "ok"


@pytest.mark.parametrize("reviewed", [False, True])
def test_a_bad_settings_file_is_a_problem(studytool_home, sandbox, capsys, reviewed):
    if reviewed:  # the schedule has been computed once (the applied scheduler is recorded)
        from studytool import scheduler as sch
        from studytool.content import default_content
        from studytool.store import Store

        content, _ = default_content()
        with Store() as store:
            sch.rate(store, sch.review_items(content)[0], 3)
    studytool_home.mkdir(parents=True, exist_ok=True)
    (studytool_home / "config.toml").write_text("desired_retention = 3\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert f"PROBLEM: settings: {studytool_home / 'config.toml'}:1: desired_retention" in out
    assert main(["doctor", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["ok"] is False


def test_a_sandbox_that_does_not_work_is_a_problem(studytool_home, sandbox, capsys):
    sandbox.update(ok=False, error="bwrap: no permission", summary="sandbox NOT working: bwrap")
    assert main(["doctor"]) == 1
    assert "PROBLEM: sandbox: sandbox NOT working: bwrap" in capsys.readouterr().out


def _drift(content, item):
    """What the app did before issue 11: it wrote a rating computed from the state it had loaded,
    after another process (the CLI) had rated the same card — the stored schedule no longer
    follows from the log."""
    from studytool import scheduler as sch
    from studytool.store import Store, utcnow

    now = utcnow()
    with Store() as app, Store() as cli:
        scheduler = sch.current_scheduler(app)
        sch.rate(cli, item, 3, now=now)
        stale = sch.load_state(app, item.id).card
        sch.rate(cli, item, 3, now=now)  # the CLI reviews it once more
        outcome = sch.preview(scheduler, stale, now)[3]
        sch.apply_rating(app, item, 3, outcome, now=now)  # no re-read: the old way


def test_drift_is_reported_with_advice_and_fixed_by_doctor_fix(studytool_home, sandbox, capsys):
    from studytool import scheduler as sch
    from studytool.content import default_content
    from studytool.store import Store

    content, _ = default_content()
    item = sch.review_items(content)[0]
    _drift(content, item)
    with Store() as store:
        log_before = store.conn.execute("SELECT * FROM review_log ORDER BY id").fetchall()
    capsys.readouterr()

    assert main(["doctor"]) == 1
    lines = capsys.readouterr().out.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("PROBLEM: "))
    assert "stored schedule differs from the one rebuilt from its 3 review(s)" in lines[i]
    assert lines[i + 1].startswith("  what to do: run `studytool doctor --fix`")

    assert main(["doctor", "--fix"]) == 0
    out = capsys.readouterr().out
    assert "fix: rebuilt the schedule of 1 item(s) from the review log" in out
    assert out.strip().splitlines()[-1] == "ok"
    assert main(["doctor"]) == 0
    with Store() as store:
        assert store.conn.execute("SELECT * FROM review_log ORDER BY id").fetchall() == log_before
        assert sch.doctor_check(store, content) == []


def test_every_problem_comes_with_what_to_do(studytool_home, sandbox, capsys):
    from studytool import scheduler as sch
    from studytool.content import default_content
    from studytool.store import Store

    content, _ = default_content()
    item = sch.review_items(content)[1]
    with Store() as store:  # a state with no review behind it
        sch.rate(store, item, 3)
        store.conn.execute("DELETE FROM review_log")
    studytool_home.mkdir(parents=True, exist_ok=True)
    (studytool_home / "config.toml").write_text("desired_retention = 3\n", encoding="utf-8")
    sandbox.update(ok=False, error="bwrap: no permission", summary="sandbox NOT working: bwrap")
    capsys.readouterr()
    assert main(["doctor"]) == 1
    lines = capsys.readouterr().out.splitlines()
    problems = [k for k, line in enumerate(lines) if line.startswith("PROBLEM: ")]
    assert len(problems) == 3
    for k in problems:
        assert lines[k + 1].startswith("  what to do: ") and len(lines[k + 1]) > 30
    assert main(["doctor", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert len(report["advice"]) == len(report["problems"]) == 3
    # --fix cannot run on bad settings: it says so, and changes nothing
    assert main(["doctor", "--fix"]) == 1
    assert "fix: could not run: settings:" in capsys.readouterr().out
    (studytool_home / "config.toml").unlink()
    sandbox.update(SANDBOX_OK)
    assert main(["doctor", "--fix"]) == 0
    with Store() as store:
        assert sch.load_state(store, item.id).is_new  # back to new: no review stands behind it
