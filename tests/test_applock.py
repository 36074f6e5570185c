"""One app per data directory: a second app says at start that another is open, and a crashed
app never blocks the next one (the lock dies with its process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from studytool import applock

HOLDER = textwrap.dedent("""
    import sys, time
    from studytool import applock
    lock, other = applock.acquire()
    print("held" if other is None else "busy", flush=True)
    time.sleep(120)
""")


def test_a_second_app_is_told_and_a_killed_one_leaves_no_lock(studytool_home):
    env = {**os.environ, "STUDYTOOL_HOME": str(studytool_home)}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "held"
        lock, other = applock.acquire()
        assert other is not None and other.pid == proc.pid and not lock.held
        assert applock.app_holder() == other  # what `review --plain` looks at
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # a crash: no release, no clean-up
        proc.wait()
    lock, other = applock.acquire()
    assert other is None and lock.held
    assert applock.app_holder() is not None and applock.app_holder().pid == os.getpid()
    lock.release()
    assert applock.app_holder() is None


def test_the_app_warns_at_start_when_another_is_open(studytool_home):
    from studytool.tui.app import load_core

    first = load_core()
    assert first.other_app is None and first.app_lock.held
    second = load_core()
    assert second.other_app is not None and second.other_app.pid == os.getpid()
    assert not second.app_lock.held
    first.app_lock.release()
    third = load_core()
    assert third.other_app is None
    third.app_lock.release()


def test_review_plain_says_the_app_is_open(studytool_home, monkeypatch, capsys):
    import io

    from studytool.cli import main

    lock, _ = applock.acquire()
    monkeypatch.setattr(sys, "stdin", io.StringIO("q\n"))
    assert main(["review", "--plain", "--lang", "en"]) == 0
    assert "the app is open on the same data" in " ".join(capsys.readouterr().out.split())
    lock.release()


def test_the_second_app_shows_the_warning_on_screen(studytool_home):
    import asyncio

    from _tui_support import settle

    from studytool.tui.app import StudyApp

    lock, _ = applock.acquire()  # the first app

    async def run() -> list[str]:
        app = StudyApp(warm=False, cursor_blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            return [n.message for n in app._notifications]

    try:
        messages = asyncio.run(run())
    finally:
        lock.release()
    assert any("Another studytool app is open on the same data" in m for m in messages), messages
