"""Trusted side of the alibi checks."""

from __future__ import annotations

import math

import torch
from studytool.grader.compare import check_tensor, close
from studytool.grader.references.alibi import alibi_bias, alibi_slopes
from studytool.grader.spec import Outcome, ProbeResult, TestCase


def _witness(message: str, label: str) -> str:
    """The comparison's witness without the label already said at the start of the message."""
    return message[len(label) + 2 :] if message.startswith(label + ": ") else message


def _error(res: ProbeResult) -> Outcome | None:
    return None if res.ok else Outcome.errored(res.error.describe())


def _fmt(t) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in t.tolist()[:8]) + (", …]" if len(t) > 8 else "]")


def _slope_mistakes(n):
    naive = torch.tensor([2.0 ** (-8.0 * (h + 1) / n) for h in range(n)])
    closest = 2 ** math.floor(math.log2(n))
    out = {
        f"for n={n} (not a power of two) the slopes are 2^(−8(h+1)/n) — the rule for powers of "
        f"two only. The paper takes the {closest} slopes for {closest} heads, then every other "
        f"slope of {2 * closest} heads until there are n": naive,
        f"for n={n} these are the first {n} slopes of {2 * closest} heads; the paper takes the "
        f"{closest} slopes for {closest} heads, then every other slope of {2 * closest} heads": alibi_slopes(
            2 * closest
        )[:n],
        "the slopes are right but sorted; keep the paper's order (the slopes for the power of "
        "two first, then the interleaved extra ones)": alibi_slopes(n).sort(descending=True).values,
    }
    return out


def _judge_slopes(args):
    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        for n in args["head_counts"]:
            got = res.data[f"slopes_{n}"]
            exp = alibi_slopes(n)
            if bad := check_tensor(got, f"alibi_slopes({n})", shape=(n,)):
                return bad
            out = close(got, exp, f"alibi_slopes({n})", atol=1e-7, rtol=1e-5, check_dtype=False)
            if out.status != "pass":
                for why, wrong in _slope_mistakes(n).items():
                    if torch.allclose(got.double(), wrong.double(), atol=1e-7, rtol=1e-5):
                        return Outcome.failed(f"alibi_slopes({n}) = {_fmt(got)}; expected {_fmt(exp)}: {why}")
                return Outcome.failed(f"{out.message}; expected {_fmt(exp)}")
            if got.dtype != torch.float32:
                return Outcome.failed(f"alibi_slopes({n}) has dtype {got.dtype}, expected torch.float32")
        return Outcome.passed()

    return judge


def equivalent_form(got: torch.Tensor, h: int, n: int) -> str | None:
    """Name a bias that gives the same attention as the paper's under softmax but is written
    differently: a constant shift per query row (BLOOM's +slope·j is −slope·(i − j) + slope·i),
    or a very large negative number where the paper has -inf (torch.finfo(dtype).min)."""
    if not got.is_floating_point() or tuple(got.shape) != (h, n, n):
        return None
    exp = alibi_bias(h, n).double()
    g = got.double()
    past = torch.isfinite(exp)  # j <= i
    future = ~past
    g_future = g[future.expand_as(g)] if future.any() else g.new_zeros(0)
    masked_like_inf = bool((g_future == -math.inf).all()) if g_future.numel() else True
    huge_negative = bool((g_future < -1e30).all()) if g_future.numel() else False
    if not (masked_like_inf or huge_negative) or not bool(torch.isfinite(g[past.expand_as(g)]).all()):
        return None
    shift = torch.where(past, g - exp, torch.zeros_like(g))  # [H, N, N], 0 on the future
    counts = past.sum(-1).clamp(min=1)
    row_mean = shift.sum(-1, keepdim=True) / counts[..., None]
    spread = torch.where(past, (shift - row_mean).abs(), torch.zeros_like(g)).amax()
    if float(spread) > 1e-4 * (1 + float(exp[past.expand_as(exp)].abs().max())):
        return None  # not a per-row constant shift: a genuinely different bias
    row_shift = row_mean[..., 0]  # [H, N]
    slopes = alibi_slopes(h).double()[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    if bool(row_shift.abs().max() <= 1e-5):
        if huge_negative and not masked_like_inf:
            return (
                f"alibi_bias({h}, {n}): the future holds a very large negative number "
                f"({float(g_future.max()):.4g}) where the paper has -inf: softmax gives the "
                "same attention (Hugging Face masks with torch.finfo(dtype).min), but this "
                "exercise asks for -inf"
            )
        return None
    where = "" if masked_like_inf else " (and the future holds a very large negative number, not -inf)"
    if torch.allclose(row_shift, slopes * i, atol=1e-5, rtol=1e-4):
        return (
            f"alibi_bias({h}, {n}): your bias differs from −slope·(i−j) by slope·i on every "
            "query row: softmax gives the same attention (BLOOM writes it this way, "
            "+slope·j), but this exercise asks for the paper's form, −slope·(i − j) for "
            f"j ≤ i{where}"
        )
    hh, r = (int(x) for x in torch.nonzero(row_shift.abs() > 1e-5)[0])
    return (
        f"alibi_bias({h}, {n}): your bias differs from −slope·(i−j) by a constant on each "
        f"query row (head {hh}, query {r}: {float(row_shift[hh, r]):+.4g}): softmax gives the "
        "same attention, since adding one number to a whole row of scores changes nothing, "
        f"but this exercise asks for the paper's form, −slope·(i − j) for j ≤ i{where}"
    )


def _judge_bias(args):
    h, n = args["n_heads"], args["seq_len"]

    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        got, exp = res.data["bias"], alibi_bias(h, n)
        what = f"alibi_bias({h}, {n})"
        if bad := check_tensor(got, what, shape=(h, n, n)):
            return bad
        out = close(got, exp, what, atol=1e-6, rtol=1e-5, check_dtype=False)
        if out.status == "pass":
            if not got.is_floating_point():
                return Outcome.failed(
                    f"{what} has dtype {got.dtype}; a bias that holds -inf must be a floating-point tensor"
                )
            return out
        if (same := equivalent_form(got, h, n)) is not None:
            return Outcome.failed(same)
        m = alibi_slopes(h)[:, None, None].double()
        i, j = torch.arange(n)[:, None], torch.arange(n)[None, :]
        future = (j > i)[None].expand(h, n, n)
        g = got.double()
        hints = [
            (
                torch.where(future, -math.inf, m * (i - j)),
                "the sign is flipped: the bias is −slope·(i − j), a penalty, negative for past keys",
            ),
            (
                torch.where(future.transpose(1, 2), -math.inf, -m * (j - i)),
                "the bias is transposed: rows are queries i, columns keys j; the future (j > i) is -inf",
            ),
            (
                -m * (i - j).abs(),
                "the future is visible: for j > i the bias must be -inf (causal), not −slope·|i − j|",
            ),
            (
                torch.where(future, 0.0, -m * (i - j)),
                "the future gets 0 instead of -inf: a zero bias leaves future keys fully visible",
            ),
        ]
        for wrong, why in hints:
            same_inf = torch.equal(torch.isinf(g), torch.isinf(wrong))
            fin = ~torch.isinf(wrong)
            if same_inf and torch.allclose(g[fin], wrong[fin], atol=1e-5, rtol=1e-4):
                return Outcome.failed(f"{what}: {why}. ({_witness(out.message, what)})")
        return out

    return judge


def _judge_shape_of_penalty(args):
    h, n = args["n_heads"], args["seq_len"]

    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        got = res.data["bias"]
        if bad := check_tensor(got, f"alibi_bias({h}, {n})", shape=(h, n, n)):
            return bad
        if (same := equivalent_form(got, h, n)) is not None:
            return Outcome.failed(same)
        g = got.double()
        for hh in range(h):
            for i in range(n):
                for j in range(i + 1, n):
                    if not (math.isinf(g[hh, i, j]) and g[hh, i, j] < 0):
                        return Outcome.failed(
                            f"only the past may be visible: head {hh}, query {i}, key {j} (a "
                            f"later position) has bias {float(g[hh, i, j]):.4g}, expected -inf"
                        )
        for hh in range(h):
            slope = -float(g[hh, 1, 0])
            if not slope > 0:
                return Outcome.failed(
                    f"head {hh}: the bias one step back, bias[{hh}, 1, 0] = {-slope:.4g}, should be "
                    f"a penalty −slope < 0"
                )
            for i in range(n):
                for j in range(i + 1):
                    want = -slope * (i - j)
                    if abs(float(g[hh, i, j]) - want) > 1e-5 + 1e-4 * abs(want):
                        return Outcome.failed(
                            f"head {hh}: the penalty must grow linearly with the distance i − j "
                            f"(slope {slope:.4g} from bias[{hh}, 1, 0]); at query {i}, key {j} "
                            f"(distance {i - j}) it is {float(g[hh, i, j]):.5g}, expected "
                            f"{want:.5g}"
                        )
        return Outcome.passed()

    return judge


def _tests() -> list[TestCase]:
    tests = []
    a = {"head_counts": [1, 2, 4, 8, 16]}
    tests.append(
        TestCase(
            "alibi_slopes for powers of two (1, 2, 4, 8, 16): 2^(−8(h+1)/n)",
            "probe_slopes",
            _judge_slopes(a),
            a,
        )
    )
    a = {"head_counts": [6, 3, 5, 12, 20, 24]}
    tests.append(
        TestCase(
            "alibi_slopes for other head counts (6, 3, 5, 12, 20, 24): the paper's rule",
            "probe_slopes",
            _judge_slopes(a),
            a,
        )
    )
    for h, n in ((8, 7), (6, 5), (1, 1), (12, 9)):
        a = {"n_heads": h, "seq_len": n}
        tests.append(
            TestCase(
                f"alibi_bias({h}, {n}): −slope·(i − j) for j ≤ i, -inf above", "probe_bias", _judge_bias(a), a
            )
        )
    a = {"n_heads": 5, "seq_len": 11}
    tests.append(
        TestCase(
            "property: only the past is visible, and each head's penalty grows "
            "linearly with distance (alibi_bias(5, 11))",
            "probe_bias",
            _judge_shape_of_penalty(a),
            a,
        )
    )
    return tests


TESTS = _tests()
