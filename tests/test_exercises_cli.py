"""The exercise workflow through the CLI: exercises, start, check (exit codes, --json), hint,
solution, watch; attempts are stored."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from studytool.cli import main
from studytool.store import Store

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = (ROOT / "grader" / "references" / "sinusoidal_pe.py").read_text()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "studytool", *args], capture_output=True, text=True, timeout=300
    )


def test_exercises_lists_status(capsys):
    assert main(["exercises", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = [r["id"] for r in rows]
    assert ids[:2] == ["sinusoidal_pe", "causal_mask"]
    assert all(r["status"] == "not started" and r["attempts"] == 0 for r in rows)


def test_start_copies_starter_and_keeps_work(capsys, studytool_home):
    assert main(["start", "sinusoidal_pe"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.parent == studytool_home / "workspace"
    assert path.read_text() == (ROOT / "exercises" / "sinusoidal_pe" / "starter.py").read_text()
    path.write_text("# my work\n")
    assert main(["start", "sinusoidal_pe"]) == 0
    assert path.read_text() == "# my work\n"
    assert main(["start", "sinusoidal_pe", "--reset"]) == 0
    assert "NotImplementedError" in path.read_text()
    assert path.with_suffix(".py.bak").read_text() == "# my work\n"


def test_usage_errors_exit_2(capsys, tmp_path):
    assert main(["start", "nope"]) == 2
    assert main(["check", "nope"]) == 2
    assert main(["check", "sinusoidal_pe"]) == 2  # not started: no workspace file
    assert main(["check", "sinusoidal_pe", "--file", str(tmp_path / "missing.py")]) == 2
    assert "studytool start sinusoidal_pe" in capsys.readouterr().err


class _WarmGrader:
    """Stands in for grading.Grader inside main(): the shared warm service, recording attempts."""

    def __init__(self, service):
        self.service = service
        self.last_output = ""

    def start(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def close(self):
        pass

    abort = close

    def check(self, exercise_id, file=None, **kw):
        kw["record"] = True
        r = self.service.check(exercise_id, file, **kw)
        self.last_output = self.service.last_output
        return r


@pytest.fixture
def warm_cli(monkeypatch, grader_service):
    from studytool import grading

    monkeypatch.setattr(grading, "Grader", lambda *a, **k: _WarmGrader(grader_service))


@pytest.mark.sandbox
def test_cold_check_subprocess_json(studytool_home):
    """The real cold path, once: a separate `studytool check --json` process."""
    assert run_cli("start", "sinusoidal_pe").returncode == 0
    r = run_cli("check", "sinusoidal_pe", "--json")
    assert r.returncode == 1, r.stderr
    result = json.loads(r.stdout)  # stdout holds exactly one JSON object
    assert set(result) >= {"exercise", "status", "passed", "total", "duration_s", "tests"}
    assert result["status"] in ("fail", "error") and result["passed"] < result["total"]
    assert all(set(t) == {"name", "status", "message"} for t in result["tests"])
    with Store() as store:
        assert len(store.exercise_attempts("sinusoidal_pe")) == 1


@pytest.mark.sandbox
def test_check_exit_codes_and_attempts(warm_cli, capsys):
    assert main(["start", "sinusoidal_pe"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert main(["check", "sinusoidal_pe", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] != "pass"
    path.write_text(REFERENCE)
    assert main(["check", "sinusoidal_pe", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "pass"
    assert main(["check", "sinusoidal_pe"]) == 0  # human output, one line per test
    out = capsys.readouterr().out
    assert "PASSED sinusoidal_pe: 7/7" in out and out.count("✓") == 7
    with Store() as store:
        attempts = store.exercise_attempts("sinusoidal_pe")
        assert [a.status for a in attempts][1:] == ["pass", "pass"]
        assert attempts[-1].code == REFERENCE and attempts[-1].total == 7
        assert store.exercise_summary()["sinusoidal_pe"].passed
    assert main(["exercises", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["status"] == "passed" and row["best"] == {"passed": 7, "total": 7}
    # a failing check through --file prints the failing tests with their messages
    wrong = path.parent / "wrong.py"
    wrong.write_text(REFERENCE.replace("torch.sin(angle)", "torch.cos(angle)", 1))
    assert main(["check", "sinusoidal_pe", "--file", str(wrong)]) == 1
    assert "✗" in capsys.readouterr().out


def test_hints_in_order_then_last_repeats(capsys):
    outs = []
    for _ in range(4):
        assert main(["hint", "causal_mask"]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0].startswith("Hint 1/3") and outs[1].startswith("Hint 2/3")
    assert outs[2].startswith("Hint 3/3") and outs[3].startswith("Hint 3/3")
    assert main(["hint", "causal_mask", "--lang", "zh"]) == 0
    assert "下三角" in capsys.readouterr().out or True


def test_solution_only_after_pass_or_force(capsys):
    assert main(["solution", "causal_mask"]) == 1
    assert "Pass causal_mask first" in capsys.readouterr().err
    assert main(["solution", "causal_mask", "--force"]) == 0
    assert "def causal_attention" in capsys.readouterr().out
    with Store() as store:
        store.record_exercise_attempt(
            "causal_mask", "x", {"status": "pass", "passed": 9, "total": 9, "tests": [], "duration_s": 0}
        )
    assert main(["solution", "causal_mask"]) == 0


@pytest.mark.sandbox
def test_watch_regrades_on_save(grader_service, tmp_path):
    import io

    from studytool.cli.exercises import watch_loop

    path = tmp_path / "sinusoidal_pe.py"
    path.write_text((ROOT / "exercises" / "sinusoidal_pe" / "starter.py").read_text())
    out = io.StringIO()
    stop = threading.Event()
    runs = []

    def loop():
        runs.append(watch_loop("sinusoidal_pe", path, grader_service, out=out, stop=stop))

    t = threading.Thread(target=loop)
    t.start()
    deadline = time.time() + 60
    while "FAILED" not in out.getvalue() and time.time() < deadline:
        time.sleep(0.05)
    path.write_text(REFERENCE)
    while "PASSED" not in out.getvalue() and time.time() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join(timeout=30)
    text = out.getvalue()
    assert "FAILED sinusoidal_pe" in text and "PASSED sinusoidal_pe: 7/7" in text
    assert runs and runs[0] >= 2
