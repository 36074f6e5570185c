"""Trusted side of the flash_attention checks."""

from __future__ import annotations

import math

import torch

from studytool.grader.compare import close
from studytool.grader.spec import Outcome, ProbeResult, TestCase

MIB = 1 << 20


def _error(res: ProbeResult) -> Outcome | None:
    return None if res.ok else Outcome.errored(res.error.describe())


def _inputs(b, h, n, d, seed, q_scale=1.0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(b, h, n, d, generator=g) * q_scale
    return q, torch.randn(b, h, n, d, generator=g), torch.randn(b, h, n, d, generator=g)


def softmax_attention(q, k, v, causal=False):
    """The plain definition, in float64: the value every block size must reproduce."""
    q, k, v = q.double(), k.double(), v.double()
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        n, m = s.shape[-2:]
        s = s.masked_fill(torch.ones(n, m, dtype=torch.bool).triu(1), float("-inf"))
    return (torch.softmax(s, dim=-1) @ v).float()


def _no_rescale(q, k, v, causal, bs):
    """The classic mistake: a running max and sum, but old accumulators are never rescaled."""
    q, k, v = q.double(), k.double(), v.double()
    n = q.shape[-2]
    s_all = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        s_all = s_all.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    m = torch.full((*q.shape[:-1], 1), float("-inf"), dtype=q.dtype)
    l = torch.zeros_like(m)
    o = torch.zeros_like(q)
    for st in range(0, n, bs):
        s = s_all[..., st:st + bs]
        m = torch.maximum(m, s.amax(-1, keepdim=True))
        p = torch.exp(s - m)
        l = l + p.sum(-1, keepdim=True)
        o = o + p @ v[..., st:st + bs, :]
    return (o / l).float()


def _finite_problem(got, what, q, k) -> Outcome | None:
    if isinstance(got, torch.Tensor) and got.is_floating_point() and not bool(torch.isfinite(got).all()):
        idx = torch.nonzero(~torch.isfinite(got))[0].tolist()
        top = float((q.double() @ k.double().transpose(-2, -1)).abs().max() / math.sqrt(q.shape[-1]))
        return Outcome.failed(
            f"{what}: output has {got[tuple(idx)].item()} at index {idx}. Scores here reach "
            f"{top:.0f}, and exp overflows float32 above 88.7 — subtract the running maximum "
            f"before exp (p = exp(s − m)), and rescale by exp(m_old − m_new)")
    return None


def _judge_blocks(args, label, atol=2e-5, rtol=2e-4):
    q, k, v, causal = args["q"], args["k"], args["v"], args.get("causal", False)
    n = q.shape[-2]

    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        exp = softmax_attention(q, k, v, causal)
        results = {bs: res.data[f"out_{bs}"] for bs in args["block_sizes"]}
        outcomes = {bs: close(got, exp, f"{label}, block_size={bs}", atol=atol, rtol=rtol)
                    for bs, got in results.items()}
        bad = [bs for bs, o in outcomes.items() if o.status != "pass"]
        if not bad:
            return Outcome.passed()
        bs = bad[0]
        got = results[bs]
        if (fin := _finite_problem(got, f"{label}, block_size={bs}", q, k)) is not None:
            return fin
        good = [b for b in results if b not in bad]
        if isinstance(got, torch.Tensor) and got.shape == exp.shape:
            if torch.allclose(got, _no_rescale(q, k, v, causal, bs), atol=1e-4, rtol=1e-3):
                return Outcome.failed(
                    f"{label}: block_size={bs} gives a different result"
                    + (f" from block_size={good[0]} (which is right)" if good else "")
                    + ": when a block raises the running maximum from m to m', what was "
                      "accumulated so far (the sum ℓ and the output o) was computed against m and "
                      f"must be rescaled by exp(m − m') (largest error "
                      f"{float((got - exp).abs().max()):.3g})")
            if torch.allclose(got, softmax_attention(q * math.sqrt(q.shape[-1]), k, v, causal),
                              atol=1e-4, rtol=1e-3):
                return Outcome.failed(f"{label}: the scores are not divided by √D: softmax(q kᵀ/√D) "
                                      f"v, D={q.shape[-1]}. " + outcomes[bs].message)
            tail = n % bs
            if tail and n > bs:
                kept = n - tail
                trunc = softmax_attention(q, k[..., :kept, :], v[..., :kept, :], False)
                if not causal and torch.allclose(got, trunc, atol=1e-4, rtol=1e-3):
                    return Outcome.failed(
                        f"{label}: with N={n} and block_size={bs} the last {tail} key(s) are "
                        f"ignored — N need not be a multiple of block_size: the last block is "
                        f"shorter (range(0, N, block_size), slice to min(start + block_size, N))")
        if good:
            return Outcome.failed(
                f"{label}: block sizes {good} are right but block_size={bs} is not — every block "
                f"size must give the same result. " + outcomes[bs].message)
        return outcomes[bs]

    return judge


def _judge_memory(args):
    n, d, bs, seed = args["n"], args["d"], args["block_size"], args["seed"]
    nn_mib = n * n * 4 / MIB
    # A few [N, block] blocks and [N, D] accumulators, with room for allocator slack; far below
    # the N×N matrix (and at most half of it).
    budget = min((32 * n * bs * 4 + 16 * n * d * 4) / MIB + 32, nn_mib / 2)

    def judge(res: ProbeResult) -> Outcome:
        if not res.ok:
            if res.error.kind in ("memory limit", "time limit"):
                return Outcome.failed(
                    f"{res.error.kind} hit at N={n}: an N×N float32 score matrix takes "
                    f"{nn_mib:.0f} MiB here — work on [N, block_size] score blocks only")
            return Outcome.errored(res.error.describe())
        if res.data.get("out_of_memory"):
            return Outcome.failed(
                f"ran out of memory at N={n} ({res.data['message'][:80]}…): an N×N float32 "
                f"matrix alone takes {nn_mib:.0f} MiB here, so something N×N is being formed — "
                f"work on [N, block_size] score blocks only")
        peak = res.data["peak_bytes"] / MIB
        figures = {"peak_mib": round(peak, 1), "n": n, "nxn_mib": nn_mib, "budget_mib": budget}
        if peak > budget:
            return Outcome.failed(
                f"peak memory grew by {peak:.0f} MiB at N={n}, D={d}, block_size={bs}; an N×N "
                f"float32 matrix is {nn_mib:.0f} MiB, and tiled attention needs about "
                f"N·block_size (limit here {budget:.0f} MiB). Something N×N is built — the full "
                f"score matrix, its mask, or exp of it: keep only one [N, block_size] block alive",
                **figures)
        q, k, v = _inputs(1, 1, n, d, seed)
        rows = res.data["rows"]
        exp = softmax_attention(q[:, :, rows], k, v)
        out = close(res.data["sample"], exp, f"rows {rows.tolist()} of the output at N={n}",
                    atol=5e-5, rtol=5e-4)
        if out.status != "pass":
            return out
        return Outcome.passed(
            f"peak memory +{peak:.1f} MiB at N={n} (N×N float32 would be {nn_mib:.0f} MiB)", **figures)

    return judge


def _tests() -> list[TestCase]:
    tests = []
    q, k, v = _inputs(2, 3, 130, 16, 0)
    a = {"q": q, "k": k, "v": v}
    a_default = dict(a, block_sizes=[64])  # the judge's view: the default block size is 64
    label = "defaults: tiled_attention(q, k, v) equals softmax(q kᵀ/√D) v ([2, 3, 130, 16])"
    tests.append(TestCase(label, "probe_default_block", _judge_blocks(a_default, label), a))
    for b, h, n, d, causal, sizes, scale, seed, what in (
            (2, 3, 128, 16, False, [32], 1.0, 1, "N a multiple of block_size"),
            (1, 2, 128, 16, True, [32], 1.0, 2, "causal"),
            (2, 2, 97, 8, False, [32], 1.0, 3, "N=97 not a multiple of block_size=32"),
            (1, 3, 97, 8, True, [32], 1.0, 4, "causal, N=97 not a multiple of block_size=32"),
            (1, 5, 60, 8, False, [1, 7, 16, 60, 64], 1.0, 5,
             "every block size gives the same result (1, 7, 16, 60, 64)"),
            (1, 5, 60, 8, True, [1, 7, 16, 60, 64], 1.0, 6,
             "causal: every block size gives the same result"),
            (2, 2, 64, 16, False, [16], 150.0, 7, "huge scores (up to ~1000): exp must not overflow"),
            (1, 2, 64, 16, True, [16], 150.0, 8, "causal, huge scores: exp must not overflow")):
        q, k, v = _inputs(b, h, n, d, seed, scale)
        a = {"q": q, "k": k, "v": v, "causal": causal, "block_sizes": sizes}
        label = f"{what} ([B, H, N, D]=[{b}, {h}, {n}, {d}])"
        tol = (2e-4, 2e-3) if scale > 1 else (2e-5, 2e-4)  # float32 rounding of scores ~1000
        tests.append(TestCase(label, "probe_values", _judge_blocks(a, label, *tol), a,
                              time_limit_s=10 if len(sizes) > 1 else None))
    a = {"n": 8192, "d": 16, "block_size": 64, "seed": 9}
    tests.append(TestCase("memory grows like N·block_size, not N² (peak at N=8192, D=16, "
                          "block_size=64; N×N float32 = 256 MiB)", "probe_memory",
                          _judge_memory(a), a, time_limit_s=30))
    return tests


TESTS = _tests()
