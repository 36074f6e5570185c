"""Diagnoses name the real fault, and correct code passes (issue 9 §6).

* infinite against finite, NaN against a number: said as values ("expected -inf at [0, 1, 0],
  got 0.0"), never as a "largest absolute error 1.79769e+308" (compare.close, shared by all);
* a causal mask without its diagonal (tril(…, diagonal=-1)): row 0 is fully masked and softmax
  gives NaN — named first, in every test, never as "inverted", "leaked … by up to inf" or "overflow";
* softmax-equivalent forms (ALiBi as BLOOM writes it, -inf written as finfo.min): still a fail,
  since the exercise asks for the paper's form, but the equivalence is named;
* every message is a sentence: the CLI no longer prints raw figure data as a line of key=value.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest
import torch
from studytool.grader.compare import close

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ROOT / "tests" / "wrong_answers"


# -- compare.close: non-finite values are said as values ----------------------------------------


def test_minus_inf_against_a_number_is_named_as_such():
    exp = torch.tensor([[[0.0, float("-inf")], [0.0, 0.0]]])
    got = torch.tensor([[[0.0, 0.0], [0.0, 0.0]]])
    out = close(got, exp, "bias")
    assert out.status == "fail"
    assert "expected -inf at [0, 0, 1], got 0.0" in out.message
    assert "1.79769e+308" not in out.message and "largest absolute error" not in out.message


def test_nan_against_a_number_is_named_as_such():
    exp = torch.tensor([0.5, 0.25, 0.125])
    got = torch.tensor([0.5, float("nan"), float("nan")])
    out = close(got, exp, "out")
    assert out.status == "fail"
    assert "expected 0.25 at [1], got NaN; 2 of 3 elements differ like this" in out.message


def test_a_number_where_inf_belongs_and_matching_infinities_pass():
    exp = torch.tensor([float("inf"), -1.0, float("-inf")])
    assert close(exp.clone(), exp, "x").status == "pass"
    out = close(torch.tensor([3.0e38, -1.0, float("-inf")]), exp, "x")
    assert "expected inf at [0], got 3e+38" in out.message
    assert "largest absolute error" not in out.message


def test_finite_errors_ignore_the_positions_that_agree_on_inf():
    exp = torch.tensor([float("-inf"), 1.0, 2.0])
    out = close(torch.tensor([float("-inf"), 1.0, 2.5]), exp, "x")
    assert "values differ at index [2]" in out.message
    assert "largest absolute error 0.5" in out.message


# -- causal_mask: tril(…, diagonal=-1) -----------------------------------------------------------

STRICT = """
import math
import torch

def causal_mask(seq_len):
    return torch.ones(seq_len, seq_len, dtype=torch.bool).tril(diagonal=-1)

def causal_attention(q, k, v):
    n = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~causal_mask(n), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
"""

STRICT_INLINE = """
import math
import torch

def causal_mask(seq_len):
    return torch.ones(seq_len, seq_len, dtype=torch.bool).tril()

def causal_attention(q, k, v):
    n = q.shape[-2]
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(), float("-inf"))  # diagonal too
    return s.softmax(-1) @ v
"""


@pytest.mark.parametrize("source", [STRICT, STRICT_INLINE], ids=["mask_fn", "inline"])
def test_strict_lower_triangle_is_named_first_and_never_misdiagnosed(grade, source):
    r = grade("causal_mask", source)
    assert r["status"] == "fail"
    failing = [t for t in r["tests"] if t["status"] != "pass"]
    text = "\n".join(t["message"] for t in failing)
    for wrong in ("inverted", "leaked", "overflow", "by up to inf", "1.79769e+308"):
        assert wrong not in text.replace("not an overflow", ""), (wrong, text)
    attention = [t for t in failing if not t["name"].startswith("causal_mask ")]
    assert attention, failing
    for t in attention:
        assert (
            "row 0 masks every key, itself included — softmax over all -inf is NaN; a query "
            "must see its own position" in t["message"]
        ), t
    if source is STRICT:
        mask = next(t for t in failing if t["name"].startswith("causal_mask is True"))
        assert "the diagonal is False" in mask["message"]


def test_a_real_leak_is_still_reported_as_one(grade):
    r = grade("causal_mask", STRICT.replace("tril(diagonal=-1)", "tril(diagonal=1)"))
    msg = next(t["message"] for t in r["tests"] if t["name"].startswith("no output depends"))
    assert "a later position leaked into an earlier output" in msg
    assert "first leaking (query, key) pair: (0, 1)" in msg


# -- ALiBi: forms equivalent under softmax ----------------------------------------------------------

ALIBI_SLOPES = """
import math
import torch

def alibi_slopes(n):
    def p2(n):
        s = 2 ** (-8 / n)
        return [s ** (h + 1) for h in range(n)]
    if n & (n - 1) == 0:
        return torch.tensor(p2(n))
    c = 2 ** math.floor(math.log2(n))
    return torch.tensor(p2(c) + p2(2 * c)[0::2][: n - c])
"""

BLOOM = (
    ALIBI_SLOPES
    + """
def alibi_bias(h, n):
    j = torch.arange(n)[None, :].float()
    bias = alibi_slopes(h)[:, None, None] * j            # BLOOM: +slope·j on every row
    return bias.expand(h, n, n).masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1),
                                            float("-inf"))
"""
)

FINFO = (
    ALIBI_SLOPES
    + """
def alibi_bias(h, n):
    i, j = torch.arange(n)[:, None], torch.arange(n)[None, :]
    bias = -alibi_slopes(h)[:, None, None] * (i - j).float()
    return bias.masked_fill(j > i, torch.finfo(torch.float32).min)
"""
)

ROW_SHIFT = (
    ALIBI_SLOPES
    + """
def alibi_bias(h, n):
    i, j = torch.arange(n)[:, None], torch.arange(n)[None, :]
    bias = -alibi_slopes(h)[:, None, None] * (i - j).float() + 3.0 * i   # any per-row constant
    return bias.masked_fill(j > i, float("-inf"))
"""
)


def _failing(r):
    return [t for t in r["tests"] if t["status"] != "pass"]


def test_bloom_form_fails_naming_the_equivalence(grade):
    r = grade("alibi", BLOOM)
    bias_tests = [t for t in r["tests"] if "alibi_bias" in t["name"]]
    assert bias_tests and all(t["status"] == "fail" for t in bias_tests if "(1, 1)" not in t["name"])
    for t in _failing(r):
        assert (
            "your bias differs from −slope·(i−j) by slope·i on every query row: softmax gives "
            "the same attention (BLOOM writes it this way"
        ) in t["message"], t
        assert "this exercise asks for the paper's form" in t["message"]


def test_finfo_min_instead_of_inf_fails_naming_the_equivalence(grade):
    r = grade("alibi", FINFO)
    failing = _failing(r)
    assert failing
    for t in failing:
        assert "very large negative number" in t["message"] and "softmax gives the same" in t["message"], t


def test_any_constant_row_shift_is_named_as_softmax_equivalent(grade):
    r = grade("alibi", ROW_SHIFT)
    failing = _failing(r)
    assert failing
    for t in failing:
        assert "by a constant on each query row" in t["message"], t


def test_a_bias_that_is_not_equivalent_is_not_called_equivalent(grade):
    r = grade("alibi", (ANSWERS / "alibi" / "wrong_sign.py").read_text())
    assert all("same attention" not in t["message"] for t in _failing(r))


# -- a correct answer right after each hostile class, in the same warm service ----------------


@pytest.mark.parametrize(
    "exercise,hostile",
    [
        ("flash_attention", "wrong_naive_ballast"),
        ("flash_attention", "wrong_sample_rows_only"),
        ("linear_attention", "wrong_quadratic_chunked"),
        ("kv_cache", "wrong_reproject_flinear"),
    ],
)
def test_correct_answer_after_a_hostile_one_still_passes(grade, exercise, hostile):
    r = grade(exercise, (ANSWERS / exercise / f"{hostile}.py").read_text())
    assert r["status"] != "pass"
    r = grade(exercise, (ROOT / "grader" / "references" / f"{exercise}.py").read_text())
    assert r["status"] == "pass", _failing(r)


# -- every message is a sentence ------------------------------------------------------------------


def test_cli_prints_sentences_not_raw_figure_data():
    from studytool.cli.exercises import print_summary, print_test

    buf = io.StringIO()
    msg = "peak memory measured by the grader outside your process: +20.3 MiB at N=8192 above a run at N=256"
    print_test({"name": "memory grows like N·block_size", "status": "pass", "message": msg}, buf)
    print_summary(
        {
            "exercise": "flash_attention",
            "status": "pass",
            "passed": 1,
            "total": 1,
            "duration_s": 1.0,
            "tests": [],
            "figures": {"memory": {"peak_growth_mib": 20.3, "n": 8192}},
        },
        out=buf,
    )
    text = buf.getvalue()
    assert msg in text
    assert "peak_growth_mib=" not in text and "n=8192," not in text


def test_no_check_message_template_is_a_key_value_dump():
    """No message of the checks is built as 'name=value, name=value' data."""
    import re

    for path in sorted((ROOT / "grader" / "checks").glob("*.py")):
        src = path.read_text()
        assert not re.search(r"\{k\}=\{v\}", src), path.name
        assert "peak_mib=" not in src, path.name


def test_nan_helpers_see_rows_not_elements():
    from studytool.grader.checks.causal_mask import diagnose_nan, nan_rows

    out = torch.zeros(2, 1, 4, 3)
    out[:, :, 0] = math.nan
    assert nan_rows(out) == [0]
    assert diagnose_nan(out).startswith("row 0 masks every key")
    out[:, :, 3] = math.nan
    assert "rows [0, 3]" in diagnose_nan(out)
