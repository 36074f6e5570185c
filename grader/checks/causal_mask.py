"""Trusted-side checks for causal_mask: the mask convention, attention values, and the two
properties masking exists for — no output depends on a later position, and every row of attention
weights sums to one. Known mistakes are recomputed here so a failure can name its cause.
"""

from __future__ import annotations

import math

import torch
from studytool.grader.compare import check_tensor, close
from studytool.grader.references.causal_mask import causal_attention as ref_attention
from studytool.grader.references.causal_mask import causal_mask as ref_mask
from studytool.grader.spec import Outcome, ProbeResult, TestCase

ATOL, RTOL = 1e-5, 1e-4


def _inputs(b: int, h: int, n: int, d: int, seed: int, scale: float = 1.0) -> dict:
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(b, h, n, d, generator=g) for _ in range(3))
    return {"q": q * scale, "k": k, "v": v}


# -- known mistakes --------------------------------------------------------------------------


def _attn(q, k, v, *, scale="sqrt", mask="tril", fill=float("-inf"), when="before", dim=-1):
    n, d = q.shape[-2], q.shape[-1]
    s = q.double() @ k.double().transpose(-2, -1)
    s = s / {"sqrt": math.sqrt(d), "none": 1.0, "d": float(d)}[scale]
    m = {
        "tril": torch.ones(n, n, dtype=torch.bool).tril(),
        "triu": torch.ones(n, n, dtype=torch.bool).triu(),
        "strict": torch.ones(n, n, dtype=torch.bool).tril(-1),
        "inverted": ~torch.ones(n, n, dtype=torch.bool).tril(),
        "none": torch.ones(n, n, dtype=torch.bool),
    }[mask]
    if when == "before":
        s = s.masked_fill(~m, fill)
        w = torch.softmax(s, dim=dim)
    else:
        w = torch.softmax(s, dim=dim).masked_fill(~m, 0.0)
    return w @ v.double()


ATTENTION_MISTAKES = [
    (
        "the mask is transposed: queries see later keys (j ≥ i) instead of earlier ones (j ≤ i)",
        dict(mask="triu"),
    ),
    ("no 1/√D scaling: the scores must be q·k / √D (D = head size)", dict(scale="none")),
    ("the scores are divided by D instead of √D", dict(scale="d")),
    (
        "the mask is applied after the softmax: zeroing weights afterwards leaves rows that no longer "
        "sum to one — mask the scores with -inf before the softmax",
        dict(when="after"),
    ),
    (
        "softmax over the wrong axis: it must normalise over keys (dim=-1), not over queries (dim=-2)",
        dict(dim=-2),
    ),
    ("no mask is applied: every query sees every key, including later positions", dict(mask="none")),
    ("masked scores are set to 0 instead of -inf: exp(0) = 1 still gives later keys weight", dict(fill=0.0)),
    ("the diagonal is masked: a query must attend to itself (j ≤ i, not j < i)", dict(mask="strict")),
    ("the mask's meaning is inverted: True means 'may attend'", dict(mask="inverted")),
]


DIAGONAL_NAN = (
    "row 0 masks every key, itself included — softmax over all -inf is NaN; a query "
    "must see its own position (key j ≤ query i, so the diagonal stays visible)"
)


def nan_rows(actual) -> list[int]:
    """Query positions whose whole output row is NaN in some batch and head (sorted)."""
    if not isinstance(actual, torch.Tensor) or not actual.is_floating_point() or actual.dim() < 2:
        return []
    whole = torch.isnan(actual).all(dim=-1)  # [..., N]
    return sorted({int(i) for i in torch.nonzero(whole.reshape(-1, whole.shape[-1]))[:, 1]})


def diagnose_nan(actual) -> str | None:
    """Name the cause of NaN in an attention output computed from finite inputs, before anything
    else: a row whose every score is -inf (softmax of all -inf is 0/0). Row 0 only: the diagonal
    is masked; the last row only: the mask is inverted (the last query sees no key)."""
    if not isinstance(actual, torch.Tensor) or not actual.is_floating_point():
        return None
    if bool(torch.isfinite(actual).all()):
        return None
    rows = nan_rows(actual)
    n = actual.shape[-2]
    if rows == [0]:
        return DIAGONAL_NAN
    if rows == [n - 1] and n > 1:
        return (
            f"row {n - 1} (the last query) masks every key — softmax over all -inf is NaN: "
            "the mask is inverted; True in causal_mask means 'may attend', key j ≤ query i"
        )
    if rows:
        return (
            f"rows {rows[:6]} of the output are NaN: every score of those queries is -inf "
            "(softmax over all -inf is NaN), or exp() overflowed — each query must see at "
            "least its own position, and subtract each row's maximum before exp()"
        )
    return None


def diagnose_attention(actual, q, k, v) -> str | None:
    if not isinstance(actual, torch.Tensor) or actual.shape != v.shape[:-1] + v.shape[-1:]:
        return None
    if (why := diagnose_nan(actual)) is not None:
        return why
    a = actual.detach().double()
    for text, kw in ATTENTION_MISTAKES:
        variant = _attn(q, k, v, **kw)
        if variant.shape == a.shape and torch.allclose(a, variant, atol=1e-4, rtol=1e-3, equal_nan=True):
            return text
    if not bool(torch.isfinite(a).all()):
        return (
            "the output holds NaN or inf: a row with every score masked, or exp() of large "
            "scores overflowing (subtract the row maximum, or use torch.softmax)"
        )
    return None


MASK_MISTAKES = [
    (
        "the mask is transposed: True must be on and below the diagonal (key j ≤ query i)",
        lambda n: torch.ones(n, n, dtype=torch.bool).triu(),
    ),
    (
        "the mask is inverted: yours marks the keys to block, as nn.MultiheadAttention's attn_mask "
        "does, but this exercise uses the convention of torch's scaled_dot_product_attention: True "
        "means 'may attend', so True where j ≤ i",
        lambda n: ~torch.ones(n, n, dtype=torch.bool).tril(),
    ),
    (
        "the diagonal is False: position i may attend to itself (j ≤ i). With this mask row 0 "
        "masks every key, itself included, and softmax over all -inf gives NaN",
        lambda n: torch.ones(n, n, dtype=torch.bool).tril(-1),
    ),
]


def _mask_mistake(masks: dict[int, torch.Tensor]) -> str | None:
    """The known mistake that every returned mask matches (all sizes at once: at seq_len 1 a
    strict lower triangle and an inverted mask are the same [[False]])."""
    for text, make in MASK_MISTAKES:
        if all(torch.equal(m, make(n)) for n, m in masks.items()):
            return text
    return None


# -- judges ------------------------------------------------------------------------------------


def mask_shape_judge(r: ProbeResult) -> Outcome:
    m = r.data["masks"][0]
    bad = check_tensor(m, "causal_mask(5)", shape=(5, 5), dtype=torch.bool)
    if bad and isinstance(m, torch.Tensor) and m.dtype != torch.bool and tuple(m.shape) == (5, 5):
        return Outcome.failed(
            bad.message + " — return a boolean mask (True = may attend), not an "
            "additive float mask of 0 and -inf"
        )
    return bad or Outcome.passed()


def mask_values_judge(sizes):
    def judge(r: ProbeResult) -> Outcome:
        masks: dict[int, torch.Tensor] = {}
        for n, m in zip(sizes, r.data["masks"]):
            bad = check_tensor(m, f"causal_mask({n})", shape=(n, n))
            if bad:
                return bad
            masks[n] = m.to(torch.bool) if m.dtype != torch.bool else m
        why = _mask_mistake(masks)
        for n, m in masks.items():
            expected = ref_mask(n)
            if torch.equal(m, expected):
                continue
            i, j = (int(x) for x in torch.nonzero(m != expected)[0])
            witness = (
                f"causal_mask({n})[{i}, {j}] (query {i}, key {j}) should be "
                f"{bool(expected[i, j])}, got {bool(m[i, j])}"
            )
            return Outcome.failed(f"{why} — {witness}" if why else witness)
        return Outcome.passed()

    return judge


def attention_shape_judge(case):
    def judge(r: ProbeResult) -> Outcome:
        out = r.data["out"][0]
        return (
            check_tensor(out, "causal_attention(q, k, v)", shape=tuple(case["v"].shape), dtype=torch.float32)
            or Outcome.passed()
        )

    return judge


def _case_label(c) -> str:
    b, h, n, d = c["q"].shape
    return f"causal_attention with B={b}, H={h}, N={n}, D={d}"


def attention_values_judge(cases):
    def judge(r: ProbeResult) -> Outcome:
        outs = r.data["out"]
        for c, out in zip(cases, outs):
            expected = ref_attention(c["q"], c["k"], c["v"])
            o = close(out, expected, _case_label(c), atol=ATOL, rtol=RTOL)
            if o.status != "pass":
                why = diagnose_attention(out, c["q"], c["k"], c["v"])
                return Outcome.failed(f"{why} — {o.message}" if why else o.message)
        return Outcome.passed()

    return judge


def untouched_judge(r: ProbeResult) -> Outcome:
    for ok in r.data["untouched"]:
        if ok is not True:
            return Outcome.failed(
                "causal_attention changed its inputs in place (e.g. q /= √D or masked_fill_ on a "
                "view): the caller's q, k and v must be left as they were"
            )
    return Outcome.passed()


def causality_judge(case, delta):
    def judge(r: ProbeResult) -> Outcome:
        base = r.data["base"]
        q = case["q"]
        bad = check_tensor(base, "causal_attention(q, k, v)", shape=tuple(case["v"].shape))
        if bad:
            return bad
        if (why := diagnose_nan(base)) is not None:
            return Outcome.failed(
                f"{why}. (Causality cannot be judged from NaN: the output is NaN before any "
                "position is changed.)"
            )
        perturbed = r.data["perturbed"]
        n = q.shape[-2]
        if not isinstance(perturbed, list) or len(perturbed) != n:
            return Outcome.failed("no result for every perturbed position")
        moved = torch.zeros(n, n, dtype=torch.bool)  # moved[i, t]: output i changed when t changed
        change = torch.zeros(n, n, dtype=torch.float64)
        for t, out in enumerate(perturbed):
            bad = check_tensor(out, "causal_attention(q, k, v)", shape=tuple(case["v"].shape))
            if bad:
                return bad
            # NaN where there was a number (or the reverse) is a change; NaN that stays NaN is not
            same = torch.isnan(out) & torch.isnan(base)
            diff = (out.double() - base.double()).abs().nan_to_num(nan=float("inf"))
            diff = diff.masked_fill(same, 0.0)
            per_i = diff.amax(dim=(0, 1, 3))  # [N]
            moved[:, t] = per_i > 1e-5
            change[:, t] = per_i
        for i in range(n):
            for t in range(i + 1, n):
                if moved[i, t]:
                    by = (
                        f"by up to {float(change[i, t]):.4g}"
                        if math.isfinite(change[i, t])
                        else "from a number to NaN or inf"
                    )
                    return Outcome.failed(
                        f"a later position leaked into an earlier output: changing position {t} "
                        f"(its query, key and value) changed the output at query {i} {by} — first "
                        f"leaking (query, key) pair: ({i}, {t}); query i may only depend on keys "
                        "j ≤ i"
                    )
        return Outcome.passed()

    return judge


def weights_judge(case):
    def judge(r: ProbeResult) -> Outcome:
        w = r.data["out"][0]
        n = case["q"].shape[-2]
        bad = check_tensor(
            w, "attention weights (causal_attention with v = identity)", shape=tuple(case["v"].shape)
        )
        if bad:
            return bad
        w = w.double()
        rows = w.sum(-1)
        off = (rows - 1).abs().nan_to_num(nan=float("inf"))
        why = diagnose_attention(r.data["out"][0], case["q"], case["k"], case["v"])
        prefix = f"{why} — " if why else ""
        if bool((off > 1e-4).any()):
            b, h, i = (int(x) for x in torch.nonzero(off > 1e-4)[0])
            return Outcome.failed(
                f"{prefix}rows of attention weights must sum to one: the weights of query {i} "
                f"(batch {b}, head {h}) sum to {float(rows[b, h, i]):.5g}".replace("nan", "NaN")
            )
        upper = torch.ones(n, n, dtype=torch.bool).triu(1)
        leak = w.abs() * upper > 1e-6
        if bool(leak.any()):
            b, h, i, j = (int(x) for x in torch.nonzero(leak)[0])
            return Outcome.failed(
                f"{prefix}query {i} gives weight {float(w[b, h, i, j]):.4g} to the later key {j}: "
                "weights on keys j > i must be exactly 0"
            )
        return Outcome.passed()

    return judge


def stability_judge(case):
    def judge(r: ProbeResult) -> Outcome:
        out = r.data["out"][0]
        if isinstance(out, torch.Tensor) and out.is_floating_point() and not bool(torch.isfinite(out).all()):
            if nan_rows(out) in ([0], [case["q"].shape[-2] - 1]):
                return Outcome.failed(diagnose_nan(out) + " (not an overflow: only that row is NaN)")
            return Outcome.failed(
                "large scores overflow: with q scaled by 1000 the output holds NaN or inf — "
                "subtract each row's maximum before exp(), or use torch.softmax"
            )
        expected = ref_attention(case["q"], case["k"], case["v"])
        return close(out, expected, "causal_attention with q scaled by 1000", atol=1e-4, rtol=1e-3)

    return judge


# -- the tests -------------------------------------------------------------------------------

_SHAPE_CASE = _inputs(1, 1, 4, 8, seed=0)
_VALUE_CASES = [
    _inputs(1, 1, 5, 8, seed=1),
    _inputs(2, 3, 7, 16, seed=2),
    _inputs(3, 2, 1, 4, seed=3),
    _inputs(2, 4, 9, 32, seed=4),
]
_PERTURB = _inputs(2, 2, 6, 8, seed=5)
_W = _inputs(2, 3, 6, 8, seed=6)
_WEIGHTS_CASE = {"q": _W["q"], "k": _W["k"], "v": torch.eye(6).expand(2, 3, 6, 6).contiguous()}
_BIG = _inputs(1, 2, 8, 16, seed=7, scale=1000.0)

TESTS = [
    TestCase(
        "causal_mask returns a bool tensor of shape [seq_len, seq_len]",
        "probe_mask",
        args={"sizes": [5]},
        judge=mask_shape_judge,
    ),
    TestCase(
        "causal_mask is True exactly where key j ≤ query i (seq_len 1, 4, 7)",
        "probe_mask",
        args={"sizes": [1, 4, 7]},
        judge=mask_values_judge([1, 4, 7]),
    ),
    TestCase(
        "causal_attention returns a float32 tensor shaped like v",
        "probe_attention",
        args={"cases": [_SHAPE_CASE]},
        judge=attention_shape_judge(_SHAPE_CASE),
    ),
    TestCase(
        "causal_attention equals softmax(q kᵀ / √D, masked) v (several B, H, N, D, seeds)",
        "probe_attention",
        args={"cases": _VALUE_CASES},
        judge=attention_values_judge(_VALUE_CASES),
    ),
    TestCase(
        "no output depends on a later position (each position perturbed in turn)",
        "probe_perturb",
        args={**_PERTURB, "delta": 1.0},
        judge=causality_judge(_PERTURB, 1.0),
    ),
    TestCase(
        "every row of attention weights sums to one, with zero weight on later keys",
        "probe_attention",
        args={"cases": [_WEIGHTS_CASE]},
        judge=weights_judge(_WEIGHTS_CASE),
    ),
    TestCase(
        "large scores do not overflow (q scaled by 1000)",
        "probe_attention",
        args={"cases": [_BIG]},
        judge=stability_judge(_BIG),
    ),
    TestCase(
        "leaves q, k and v unchanged",
        "probe_attention",
        args={"cases": _VALUE_CASES[:2]},
        judge=untouched_judge,
    ),
]
