"""Trusted-side checks for sinusoidal_pe: values against the reference, plus diagnoses that name
the classic mistakes (each known mistake is recomputed here and compared with the learner's output).
"""

from __future__ import annotations

import math

import torch
from studytool.grader.compare import check_tensor, close
from studytool.grader.references.sinusoidal_pe import sinusoidal_position_encoding as reference
from studytool.grader.spec import Outcome, ProbeResult, TestCase

ATOL = 1e-4


def _variant(
    n: int, d: int, base: float, *, swap=False, exponent="2i", start=0, layout="interleaved", multiply=False
) -> torch.Tensor:
    p = torch.arange(start, start + n, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(d // 2, dtype=torch.float64)
    e = {"2i": 2 * i / d, "i": i / d}[exponent]
    freq = base**e
    angle = p * freq if multiply else p / freq
    s, c = torch.sin(angle), torch.cos(angle)
    if swap:
        s, c = c, s
    if layout == "concat":
        return torch.cat([s, c], dim=1)
    out = torch.empty(n, d, dtype=torch.float64)
    out[:, 0::2], out[:, 1::2] = s, c
    return out


def _column_exponent(n: int, d: int, base: float) -> torch.Tensor:
    p = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    j = torch.arange(d, dtype=torch.float64)
    angle = p / base ** (j / d)
    out = torch.where(j.long() % 2 == 0, torch.sin(angle), torch.cos(angle))
    return out


MISTAKES = [
    (
        "sin and cos are swapped: even columns 2i must hold sin, odd columns 2i+1 hold cos",
        lambda n, d, b: _variant(n, d, b, swap=True),
    ),
    (
        "the exponent uses i where 2i belongs: pair i has frequency 1/base^(2i/d_model), "
        "not 1/base^(i/d_model)",
        lambda n, d, b: _variant(n, d, b, exponent="i"),
    ),
    (
        "the exponent uses the column index: both columns of pair i share the frequency "
        "1/base^(2i/d_model), so column 2i+1 must not use (2i+1)/d_model",
        _column_exponent,
    ),
    (
        "positions are counted from 1: the first row is position p = 0 (sin 0 = 0, cos 0 = 1)",
        lambda n, d, b: _variant(n, d, b, start=1),
    ),
    (
        "sin and cos are concatenated ([sin … | cos …]) instead of interleaved: the same numbers "
        "in another column order (tensor2tensor and many libraries write it this way, and a model "
        "learns either just as well), but this exercise asks for the paper's layout: column 2i holds "
        "sin and column 2i+1 the cos of the same frequency",
        lambda n, d, b: _variant(n, d, b, layout="concat"),
    ),
    (
        "positions are multiplied by base^(2i/d_model) instead of divided by it: frequencies must "
        "fall from 1 to about 1/base across the pairs",
        lambda n, d, b: _variant(n, d, b, multiply=True),
    ),
]


def diagnose(actual: torch.Tensor, n: int, d: int, base: float) -> str | None:
    if not isinstance(actual, torch.Tensor) or tuple(actual.shape) != (n, d):
        return None
    a = actual.detach().to(torch.float64)
    for text, make in MISTAKES:
        v = make(n, d, base)
        if v.shape == a.shape and torch.allclose(a, v, atol=ATOL, rtol=0):
            return text
    if base != 10000.0 and torch.allclose(a, _variant(n, d, 10000.0), atol=ATOL, rtol=0):
        return f"the base argument is ignored: the values match base=10000, not base={base:g}"
    return None


def _label(case) -> str:
    n, d, b = case
    return f"PE(seq_len={n}, d_model={d}" + (f", base={b:g})" if b is not None else ")")


def values_judge(cases):
    def judge(r: ProbeResult) -> Outcome:
        outs = r.data.get("out") if r.data else None
        if not isinstance(outs, list) or len(outs) != len(cases):
            return Outcome.failed("no result for every call")
        for case, actual in zip(cases, outs):
            n, d, b = case
            base = 10000.0 if b is None else b
            expected = reference(n, d, base)
            o = close(actual, expected, _label(case), atol=ATOL, rtol=0)
            if o.status != "pass":
                why = diagnose(actual, n, d, base)
                return Outcome.failed(f"{why} — {o.message}" if why else o.message)
        return Outcome.passed()

    return judge


FIGURE_SIZE = (32, 32)  # the size of the app's reference heatmap, so the two sit side by side


def _figure_rows(actual) -> list[list[float | None]] | None:
    """The learner's matrix as plain numbers for the app's heatmap (non-finite → None)."""
    if not isinstance(actual, torch.Tensor) or actual.dim() != 2 or actual.numel() > 64 * 64:
        return None
    a = actual.detach().to(torch.float64)
    return [[round(v, 4) if math.isfinite(v) else None for v in row] for row in a.tolist()]


def shape_judge(r: ProbeResult) -> Outcome:
    actual = r.data["out"][0]
    rows = _figure_rows(actual)
    figures = {"pe": rows} if rows is not None else {}
    bad = check_tensor(actual, "PE(seq_len=32, d_model=32)", shape=FIGURE_SIZE, dtype=torch.float32)
    if bad:
        return Outcome(bad.status, bad.message, figures)
    return Outcome.passed(**figures)


def structure_judge(r: ProbeResult) -> Outcome:
    actual = r.data["out"][0]
    n, d = 20, 8
    bad = check_tensor(actual, "PE(seq_len=20, d_model=8)", shape=(n, d))
    if bad:
        return bad
    a = actual.detach().to(torch.float64)
    row0 = torch.tensor([0.0, 1.0] * (d // 2), dtype=torch.float64)
    if not torch.allclose(a[0], row0, atol=ATOL):
        why = diagnose(actual, n, d, 10000.0)
        return Outcome.failed(
            (f"{why} — " if why else "") + f"position 0 must be [0, 1, 0, 1, …] (sin 0, cos 0 per pair); got "
            f"{[round(float(x), 4) for x in a[0][:6]]}"
        )
    norms = a[:, 0::2] ** 2 + a[:, 1::2] ** 2
    bad_mask = (norms - 1).abs() > 1e-3
    if bool(bad_mask.any()):
        p, i = (int(x) for x in torch.nonzero(bad_mask)[0])
        why = diagnose(actual, n, d, 10000.0)
        return Outcome.failed(
            (f"{why} — " if why else "")
            + f"columns {2 * i} and {2 * i + 1} are not sin and cos of one angle: at position {p}, "
            f"PE[p,{2 * i}]² + PE[p,{2 * i + 1}]² = {float(norms[p, i]):.4f}, expected 1"
        )
    return Outcome.passed()


def raises_judge(cases, why: str):
    def judge(r: ProbeResult) -> Outcome:
        rows = r.data.get("rows") if r.data else None
        if not isinstance(rows, list) or len(rows) != len(cases):
            return Outcome.failed("no result for every call")
        for (n, d, _), row in zip(cases, rows):
            call = f"sinusoidal_position_encoding({n}, {d})"
            if row.get("is_value_error") is True:
                continue
            if row.get("raised"):
                return Outcome.failed(f"{call} raised {row['raised']}, expected ValueError ({why})")
            shape = row.get("shape")
            got = f"a {row.get('returned')}" + (f" of shape {shape}" if shape is not None else "")
            return Outcome.failed(f"no ValueError: {call} returned {got} — expected ValueError ({why})")
        return Outcome.passed()

    return judge


_DEFAULT = [[50, 16, None]]
_SIZES = [[1, 2, None], [7, 6, None], [33, 10, None], [128, 64, None], [5, 2, None]]
_BASES = [[16, 8, 100.0], [20, 12, 500.0], [9, 4, 1e6]]
_ODD = [[4, 7, None], [3, 1, None], [10, 13, None]]
_NONPOS = [[4, 0, None], [4, -4, None], [0, 8, None], [-3, 8, None]]

TESTS = [
    TestCase(
        "returns a float32 tensor of shape [seq_len, d_model]",
        "probe_encode",
        args={"cases": [[*FIGURE_SIZE, None]]},
        judge=shape_judge,
    ),
    TestCase(
        "position 0 is [0, 1, 0, 1, …] and columns (2i, 2i+1) are sin and cos of one angle",
        "probe_encode",
        args={"cases": [[20, 8, None]]},
        judge=structure_judge,
    ),
    TestCase(
        "PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(…) at the default base",
        "probe_encode",
        args={"cases": _DEFAULT},
        judge=values_judge(_DEFAULT),
    ),
    TestCase(
        "other sizes: odd seq_len, d_model from 2 to 64",
        "probe_encode",
        args={"cases": _SIZES},
        judge=values_judge(_SIZES),
    ),
    TestCase(
        "uses the base argument (base = 100, 500, 1e6)",
        "probe_encode",
        args={"cases": _BASES},
        judge=values_judge(_BASES),
    ),
    TestCase(
        "raises ValueError for an odd d_model (7, 1, 13)",
        "probe_raises",
        args={"cases": _ODD},
        judge=raises_judge(_ODD, "an odd d_model cannot be split into (sin, cos) pairs"),
    ),
    TestCase(
        "raises ValueError for a non-positive size (d_model 0 or -4, seq_len 0 or -3)",
        "probe_raises",
        args={"cases": _NONPOS},
        judge=raises_judge(_NONPOS, "sizes must be positive"),
    ),
]
