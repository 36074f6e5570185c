"""Run the import contracts (``[tool.importlinter]`` in pyproject.toml) on the installed layout.

The source folders are not their import names (``grader/`` is ``studytool.grader``, ``content/``
is ``studytool.content_data``; see ``[tool.setuptools] package-dir``), and import-linter reads the
graph from the files of the importable package. So this mirrors every ``.py`` file into
``build/importgraph/`` under its installed name and runs ``lint-imports`` against that copy.
Usage: ``python scripts/lint_imports.py [lint-imports options]``; exits with lint-imports' code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "importgraph"


def mirror(out: Path = OUT) -> Path:
    """Copy every ``.py`` of the packages to ``out`` under its installed name; returns ``out``."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir: dict[str, str] = cfg["tool"]["setuptools"]["package-dir"]
    if out.exists():
        shutil.rmtree(out)
    # the longest names last, so that a sub-package's folder lands inside its parent's copy
    for name, folder in sorted(package_dir.items(), key=lambda kv: kv[0].count(".")):
        src = ROOT / folder
        dst = out.joinpath(*name.split("."))
        for path in src.rglob("*.py"):
            rel = path.relative_to(src)
            if "__pycache__" in rel.parts:
                continue
            # a folder of the source tree that is itself mapped elsewhere is not copied twice
            target = dst / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return out


def run(out: Path, argv: list[str] | None = None, **kw: Any) -> subprocess.CompletedProcess:
    """lint-imports on the mirror at ``out`` (``kw`` goes to subprocess.run)."""
    env = dict(os.environ, PYTHONPATH=str(out))
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [
        str(exe) if exe.exists() else "lint-imports",
        "--no-cache",
        *(argv or []),
        str(ROOT / "pyproject.toml"),
    ]
    return subprocess.run(cmd, env=env, cwd=out, **kw)


def main(argv: list[str]) -> int:
    return run(mirror(), argv).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
