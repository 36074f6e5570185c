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

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "importgraph"


def mirror() -> Path:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir: dict[str, str] = cfg["tool"]["setuptools"]["package-dir"]
    if OUT.exists():
        shutil.rmtree(OUT)
    # the longest names last, so that a sub-package's folder lands inside its parent's copy
    for name, folder in sorted(package_dir.items(), key=lambda kv: kv[0].count(".")):
        src = ROOT / folder
        dst = OUT.joinpath(*name.split("."))
        for path in src.rglob("*.py"):
            rel = path.relative_to(src)
            if "__pycache__" in rel.parts:
                continue
            # a folder of the source tree that is itself mapped elsewhere is not copied twice
            target = dst / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return OUT


def main(argv: list[str]) -> int:
    out = mirror()
    env = dict(os.environ, PYTHONPATH=str(out))
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe) if exe.exists() else "lint-imports", "--config", str(ROOT / "pyproject.toml"), *argv]
    return subprocess.call(cmd, env=env, cwd=out)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
