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
