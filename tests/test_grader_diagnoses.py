"""Issue 9 §6 (the grader's part): an import failure is reported once, with the learner's own
path, line, the offending line and a caret; runtime tracebacks name the learner's path and keep
the frames of the library the learner called; the import limit is named."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parents[1]
GOOD = (ROOT / "grader" / "references" / "sinusoidal_pe.py").read_text()


def test_a_syntax_error_is_reported_once_with_path_line_and_caret(grader_service, tmp_path):
    path = tmp_path / "my_pe.py"
    path.write_text(
        "import torch\n\ndef sinusoidal_position_encoding(seq_len, d_model):\n"
        "    return torch.zeros(seq_len, d_model)) \n"
    )
    r = grader_service.check("sinusoidal_pe", path, record=False)
    first = r["tests"][0]["message"]
    assert f"{path}:4: SyntaxError: unmatched ')'" in first, first
    code = "return torch.zeros(seq_len, d_model)) "
    caret = " " * 4 + " " * (code.index("))") + 1) + "^"  # under the unmatched ')'
    assert f"\n    {code}\n{caret}" in first, first
    rest = [t["message"] for t in r["tests"][1:]]
    assert rest and all(m == "not run: your file did not import (see above)" for m in rest), rest
    assert sum("SyntaxError" in t["message"] for t in r["tests"]) == 1


def test_an_exception_at_import_is_reported_once_with_the_learners_path(grader_service, tmp_path):
    path = tmp_path / "pe.py"
    path.write_text("import torch\nx = torch.ones(2) @ torch.ones(3)\n")
    r = grader_service.check("sinusoidal_pe", path, record=False)
    first = r["tests"][0]["message"]
    assert "while importing your file" in first and f'File "{path}", line 2' in first, first
    assert sum("while importing" in t["message"] for t in r["tests"]) == 1


def test_a_runtime_traceback_keeps_the_library_frames_below_the_learners(grader_service, tmp_path):
    path = tmp_path / "pe.py"
    path.write_text(
        "import torch\nimport torch.nn.functional as F\n\n"
        "def sinusoidal_position_encoding(seq_len, d_model, base=10000.0):\n"
        "    x = torch.zeros(seq_len, d_model)\n"
        "    return F.softmax(x, dim=7)\n"
    )
    r = grader_service.check("sinusoidal_pe", path, record=False)
    msg = r["tests"][0]["message"]
    assert f'File "{path}", line 6, in sinusoidal_position_encoding' in msg, msg
    assert "torch/nn/functional.py" in msg, msg  # the library frame the learner called
    assert "studytool/grader" not in msg and "zygote" not in msg  # none of the grader's frames


def test_the_import_time_limit_is_named(grade):
    r = grade("sinusoidal_pe", "import time\ntime.sleep(30)\n" + GOOD, import_time_s=1.0)
    msg = r["tests"][0]["message"]
    assert "importing your file took longer than the limit of 1 s" in msg, msg


def test_an_honest_heavy_import_passes(grade):
    """torch._dynamo (and sympy, networkx) take ~3 s to import on a busy 2-core machine, like
    transformers' models: well inside the default import limit."""
    r = grade("sinusoidal_pe", "import torch._dynamo, sympy, networkx\n" + GOOD)
    assert r["status"] == "pass", r
