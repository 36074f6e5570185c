"""The core imports neither torch nor Textual; commands that do not grade never load torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

CORE = [
    "studytool",
    "studytool.locations",
    "studytool.content",
    "studytool.store",
    "studytool.checklist",
    "studytool.stats",
    "studytool.cli",
]


def _loaded(code: str, env: dict | None = None) -> set[str]:
    probe = code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_torch_no_textual(module):
    loaded = _loaded(f"import {module}")
    assert "torch" not in loaded
    assert "textual" not in loaded


def test_store_does_not_drag_in_pandas_or_numpy():
    """sqlite-utils imports both when installed (~0.4 s of start-up) unless the store stops it."""
    loaded = _loaded("import studytool.store")
    assert "pandas" not in loaded and "numpy" not in loaded
    # and they still import normally afterwards (fsrs' optimizer needs pandas)
    _loaded("import studytool.store, pandas, numpy")


def test_core_package_tree_imports_no_ui_or_torch():
    """Every module under studytool/ except tui/ — found on disk, so new modules are covered."""
    import studytool

    root = os.path.dirname(studytool.__file__)
    modules = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("tui", "__pycache__")]
        for f in filenames:
            if f.endswith(".py") and f != "__main__.py":
                rel = os.path.relpath(os.path.join(dirpath, f), os.path.dirname(root))
                modules.append(rel[:-3].replace(os.sep, ".").removesuffix(".__init__"))
    loaded = _loaded("\n".join(f"import {m}" for m in sorted(modules)))
    assert "torch" not in loaded, "a core module imports torch"
    assert "textual" not in loaded, "a core module imports textual"


@pytest.mark.parametrize(
    "argv", [["validate"], ["export", "json"], ["stats", "--json"], ["checklist", "--json"]]
)
def test_commands_that_do_not_grade_never_import_torch(argv, tmp_path):
    env = dict(os.environ, STUDYTOOL_HOME=str(tmp_path))
    code = (
        "import sys, io, contextlib\nfrom studytool.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    main({argv!r})"
    )
    loaded = _loaded(code, env)
    assert "torch" not in loaded
    assert "textual" not in loaded
