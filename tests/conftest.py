"""Shared fixtures.

* ``studytool_home`` (autouse): every test gets its own data directory via ``STUDYTOOL_HOME``.
* ``grader_service`` (session): one warm grading service (``studytool.grading.Grader``) shared by
  every grader test; it records nothing in the store.
* ``grade``: ``grade(exercise_id, source, **limits) -> result`` through the shared service
  (limits override ``studytool.grader.sandbox.Limits`` fields, e.g. ``time_s=1.0``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# tests that use these fixtures grade in the sandbox: they are marked ``sandbox`` automatically
SANDBOX_FIXTURES = frozenset({"grade", "grader_service"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SANDBOX_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.sandbox)


@pytest.fixture(autouse=True)
def _sandbox_needs_its_marker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test not marked ``sandbox`` cannot start one: ``grader.sandbox_plan.spawn`` refuses while
    ``STUDYTOOL_TEST_NO_SANDBOX`` is set (inherited by the CLI subprocesses a test runs too)."""
    if request.node.get_closest_marker("sandbox") is None:
        monkeypatch.setenv("STUDYTOOL_TEST_NO_SANDBOX", request.node.nodeid)
    else:
        monkeypatch.delenv("STUDYTOOL_TEST_NO_SANDBOX", raising=False)


@pytest.fixture(autouse=True)
def studytool_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "studytool-home"
    monkeypatch.setenv("STUDYTOOL_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def grader_service(tmp_path_factory: pytest.TempPathFactory):
    from studytool.grading import Grader

    env = dict(os.environ)
    env.pop("STUDYTOOL_TEST_NO_SANDBOX", None)  # the session's service is started for sandbox tests
    env["STUDYTOOL_HOME"] = str(tmp_path_factory.mktemp("grader-home"))
    g = Grader(record=False, timeout_s=300, env=env)
    g.start()
    g.ping()
    yield g
    g.close()


@pytest.fixture
def grade(grader_service):
    def run(exercise_id: str, source: str, **limits) -> dict:
        return grader_service.check(exercise_id, source=source, limits=limits or None, record=False)

    return run
