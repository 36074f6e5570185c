"""The six exercises of issue 5 (kv_cache, linear_attention, flash_attention, prenorm_postnorm,
rope, alibi) graded through the real sandboxed service (the ``grade`` fixture of conftest.py).

Every file under ``tests/wrong_answers/<exercise>/`` is a learner submission:

* ``wrong_*.py`` must be rejected, and the messages of its failing tests must contain the text of
  its ``# expect:`` header line (the named fault). Its ``# fault:`` line says what is wrong.
* ``ok_*.py`` are correct answers written differently from the reference; they must pass.

The starter-fails / reference-passes self-check is in test_grader_exercises.py and covers these
six too.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ROOT / "tests" / "wrong_answers"
SIX = ["kv_cache", "linear_attention", "flash_attention", "prenorm_postnorm", "rope", "alibi"]
pytestmark = pytest.mark.sandbox


def _header(path: Path, key: str) -> str:
    for line in path.read_text().splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path.name} has no '# {key}:' line")


def _files(prefix: str) -> list:
    return [
        pytest.param(ex, p, id=f"{ex}/{p.stem}")
        for ex in SIX
        for p in sorted((ANSWERS / ex).glob(f"{prefix}_*.py"))
    ]


_RESULTS: dict[tuple[str, str], tuple[dict, float]] = {}


def _graded(grade, exercise: str, path: Path) -> tuple[dict, float]:
    """Grade each file once per session (several tests look at the same result)."""
    key = (exercise, str(path))
    if key not in _RESULTS:
        t0 = time.perf_counter()
        r = grade(exercise, path.read_text())
        _RESULTS[key] = (r, time.perf_counter() - t0)
    return _RESULTS[key]


def _failing(result: dict) -> str:
    return "\n".join(f"[{t['name']}] {t['message']}" for t in result["tests"] if t["status"] != "pass")


@pytest.mark.parametrize("exercise,path", _files("wrong"))
def test_wrong_answer_rejected_naming_its_fault(grade, exercise, path):
    expect = _header(path, "expect")
    r, _ = _graded(grade, exercise, path)
    assert r["status"] != "pass", f"{path.name} ({_header(path, 'fault')}) passed"
    msgs = _failing(r)
    assert expect.lower() in msgs.lower(), (
        f"{path.name} ({_header(path, 'fault')}): no failing message names the fault ({expect!r}):\n{msgs}"
    )


@pytest.mark.parametrize("exercise,path", _files("ok"))
def test_correct_variant_passes(grade, exercise, path):
    r, _ = _graded(grade, exercise, path)
    assert r["status"] == "pass", f"{path.name} fails:\n{_failing(r)}"


def test_every_exercise_has_enough_answers():
    for ex in SIX:
        assert len(list((ANSWERS / ex).glob("wrong_*.py"))) >= 4, ex
        assert len(list((ANSWERS / ex).glob("ok_*.py"))) >= 2, ex


def test_property_checks_catch_right_values_wrong_method(grade):
    """The mistakes that give right values: only a property check can reject them."""
    cases = {
        ("kv_cache", "wrong_recompute"): "decoding reuses the cache",
        ("kv_cache", "wrong_reproject_flinear"): "decoding reuses the cache",
        ("kv_cache", "wrong_clone"): "allocated once; update writes in place",
        ("linear_attention", "wrong_quadratic"): "cost grows linearly",
        ("flash_attention", "wrong_naive"): "memory grows like N·block_size",
        ("prenorm_postnorm", "wrong_ln_on_residual"): "with attn and ff zeroed the block is the identity",
    }
    for (ex, stem), test_name in cases.items():
        r, _ = _graded(grade, ex, ANSWERS / ex / f"{stem}.py")
        failing = {t["name"] for t in r["tests"] if t["status"] != "pass"}
        assert any(test_name in n for n in failing), (ex, stem, failing)


def test_quadratic_linear_attention_fails_the_memory_check(grade):
    r, _ = _graded(grade, "linear_attention", ANSWERS / "linear_attention" / "wrong_quadratic.py")
    mem = [t for t in r["tests"] if t["name"].startswith("no N×N matrix")]
    assert mem and all(t["status"] == "fail" for t in mem), mem
    assert all("N×N" in t["message"] for t in mem)


def test_prenorm_figure_is_last_layer_gradient_against_depth(grade):
    """Issue 10 §1.7: the figure shows what Xiong et al.'s Theorem 1 is about — the last layer's
    gradient against depth L: Pre-LN's shrinks (about 1/√L), Post-LN's does not."""
    r, _ = _graded(grade, "prenorm_postnorm", ROOT / "grader" / "references" / "prenorm_postnorm.py")
    assert r["status"] == "pass"
    figs = [f["grad_norm_by_depth"] for f in (r.get("figures") or {}).values() if "grad_norm_by_depth" in f]
    assert figs, r.get("figures")
    fig = figs[0]
    assert fig["depths"] == [2, 4, 8, 16, 32]
    assert len(fig["pre_ln"]) == len(fig["post_ln"]) == 5
    assert fig["slope_pre_ln"] < -0.25, fig  # shrinks, about like 1/√L
    assert fig["slope_post_ln"] > -0.1, fig  # does not shrink with depth
    msg = next(t["message"] for t in r["tests"] if t["name"].startswith("gradient of the last layer"))
    assert "measured on stacks of 2, 4, 8, 16, 32 of your blocks" in msg
    assert "Post-LN, which does not shrink with depth" in msg


@pytest.mark.parametrize("exercise", SIX)
def test_grading_the_reference_stays_fast(grade, exercise):
    r, elapsed = _graded(grade, exercise, ROOT / "grader" / "references" / f"{exercise}.py")
    assert r["status"] == "pass", _failing(r)
    assert elapsed < 20, f"{exercise}: {elapsed:.1f} s"


@pytest.mark.parametrize(
    "exercise, source",
    [
        ("rope", "import torch\ndef apply_rope(x, positions=None, base=10000.0):\n    return x.numpy()\n"),
        (
            "alibi",
            "import torch\ndef alibi_slopes(n):\n    return torch.ones(n).numpy()\n"
            "def alibi_bias(n, s):\n    return torch.zeros(n, s, s).numpy()\n",
        ),
        (
            "linear_attention",
            "def linear_attention(q, k, v, causal=False, eps=1e-6):\n    return v.numpy()\n",
        ),
    ],
    ids=["rope", "alibi", "linear_attention"],
)
def test_a_returned_non_tensor_is_named_by_its_type(grade, exercise, source):
    """Returning a NumPy array (or any non-tensor) is reported as what it is, not as 'str'."""
    r = grade(exercise, source)
    msgs = [t["message"] for t in r["tests"] if t["status"] != "pass"]
    assert any("got ndarray" in m for m in msgs), msgs
    assert not any("got str" in m for m in msgs), msgs
