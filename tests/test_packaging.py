"""A wheel built from the repo installs into a fresh venv and works from any directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # build from a copy: an in-tree build leaves build/ (with the references) in the checkout
    src = tmp_path_factory.mktemp("src") / "studytool"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
        cwd=out,
    )
    (whl,) = out.glob("studytool-*.whl")
    return whl


def test_wheel_ships_content_exercises_and_grader(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "studytool/content_data/questions.yaml",
        "studytool/content_data/flashcards.yaml",
        "studytool/content_data/insights.yaml",
        "studytool/content_data/checklist.yaml",
        "studytool/grader/spec.py",
        "studytool/tui/app.tcss",
    ):
        assert required in names, required
    assert any(n.startswith("studytool/exercise_data/") and n.endswith("/starter.py") for n in names)
    assert not any(n.startswith(("tests/", "content/", "exercises/", "grader/")) for n in names)


def test_installed_wheel_works_from_another_directory(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the wheel itself, unpacked as pip would; dependencies come from the dev venv through a .pth
    # line (a .pth line adds a path but does not run that path's own .pth files, so the editable
    # install of the repo stays out of the way)
    zipfile.ZipFile(wheel).extractall(site)
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["STUDYTOOL_HOME"] = str(tmp_path / "home")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(py), "-m", "studytool", *args], capture_output=True, text=True, cwd=elsewhere, env=env
        )

    where = subprocess.run(
        [str(py), "-c", "import studytool; print(studytool.__file__)"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    ).stdout
    assert where.startswith(site), where
    assert run("validate").returncode == 0
    export = run("export", "json")
    assert export.returncode == 0, export.stderr
    assert len(json.loads(export.stdout)["questions"]) == 12
    stats = run("stats", "--json")
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["checklist"]["total"] == 21
