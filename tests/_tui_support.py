"""Helpers for the TUI tests: a fixed clock, fixed settings and content, a fresh store."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SNAPSHOT_EXERCISES = ("sinusoidal_pe", "causal_mask")


def fixed_clock():
    return NOW


def use_utc() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()


def make_core(exercises=SNAPSHOT_EXERCISES):
    """The real content (two fixed exercises, so snapshots do not move as exercises are added),
    default settings without fuzz, and a store in $STUDYTOOL_HOME."""
    from studytool.config import Config
    from studytool.content import default_content
    from studytool.store import Store
    from studytool.tui.app import Core

    content, _problems = default_content()
    if exercises is not None:
        content.exercises = [e for e in content.exercises if e.id in exercises]
        content = replace(content)  # rebuild the index
    return Core(content, [], Store(), Config(enable_fuzzing=False), [])


def make_app(core=None, **kwargs):
    from studytool.tui.app import StudyApp

    use_utc()
    return StudyApp(
        clock=kwargs.pop("clock", fixed_clock),
        core=core or make_core(),
        warm=False,
        cursor_blink=False,
        **kwargs,
    )


def seed_history(core, days: int = 5, per_day: int = 6) -> None:
    """Some review history before NOW: a few items rated on each of the last days."""
    from studytool.review import ReviewSession

    for back in range(days, 0, -1):
        t = NOW - timedelta(days=back)
        session = ReviewSession(core.store, core.content, config=core.config, clock=lambda t=t: t)
        for n in range(per_day):
            if session.next() is None:
                break
            session.reveal()
            session.rate(1 if n % 4 == 0 else 3)


async def _wait_workers(app) -> None:
    from textual.worker import WorkerCancelled

    for _ in range(20):  # an exclusive worker replaced by a newer one ends as cancelled: wait again
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue


async def settle(pilot) -> None:
    await _wait_workers(pilot.app)
    await pilot.pause()
    await _wait_workers(pilot.app)
    await pilot.pause()
