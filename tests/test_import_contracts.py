"""The architecture's rules as import contracts (pyproject.toml ``[tool.importlinter]``), run on
the installed layout by ``scripts/lint_imports.py`` — and proof that they bite: each of the four
edges the code review found (and this codebase cut) breaks a contract when it is put back."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("lint_imports", ROOT / "scripts" / "lint_imports.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_tree_keeps_every_contract(tmp_path: Path):
    li = _script()
    res = li.run(li.mirror(tmp_path / "graph"), [], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "BROKEN" not in res.stdout


# (module that gets the import, the import line, the contract that must break)
EDGES = [
    ("studytool/lab.py", "from studytool.grader import sandbox", "The core imports neither"),
    ("studytool/grader/service.py", "from studytool.grading import read_source", "The grader knows no UI"),
    ("studytool/tui/checklist.py", "from studytool.cli import progress", "The TUI calls the core only"),
    ("studytool/grader/engine.py", "from studytool import locations", "The grader knows no UI"),
]


@pytest.mark.parametrize(("module", "line", "contract"), EDGES, ids=[e[0] for e in EDGES])
def test_putting_back_an_old_edge_breaks_a_contract(tmp_path: Path, module: str, line: str, contract: str):
    li = _script()
    out = li.mirror(tmp_path / "graph")
    target = out / module
    if not target.exists():  # the module was split into a package
        target = target.with_suffix("") / "__init__.py"
    assert target.exists(), f"{module} moved: update EDGES"
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # put back\n", encoding="utf-8")
    res = li.run(out, [], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0, res.stdout[-3000:]
    broken = [ln for ln in res.stdout.splitlines() if ln.rstrip().endswith("BROKEN") or " BROKEN (" in ln]
    assert any(ln.startswith(contract) for ln in broken), res.stdout[-3000:]
