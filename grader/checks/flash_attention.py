"""Trusted side of the flash_attention checks."""

from __future__ import annotations

import functools
import math

import torch
from studytool.grader.checks._measured import extra_mib, import_extra_mib, limit_hit, usable_runs
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
        s = s_all[..., st : st + bs]
        m = torch.maximum(m, s.amax(-1, keepdim=True))
        p = torch.exp(s - m)
        l = l + p.sum(-1, keepdim=True)
        o = o + p @ v[..., st : st + bs, :]
    return (o / l).float()


def _witness(message: str, prefix: str) -> str:
    """A comparison's witness without the label it starts with (``prefix + ": "``)."""
    return message[len(prefix) + 2 :] if message.startswith(prefix + ": ") else message


def _finite_problem(got, what, q, k) -> Outcome | None:
    if isinstance(got, torch.Tensor) and got.is_floating_point() and not bool(torch.isfinite(got).all()):
        idx = torch.nonzero(~torch.isfinite(got))[0].tolist()
        top = float((q.double() @ k.double().transpose(-2, -1)).abs().max() / math.sqrt(q.shape[-1]))
        return Outcome.failed(
            f"{what}: output has {str(got[tuple(idx)].item()).replace('nan', 'NaN')} at index "
            f"{idx}. Scores here reach "
            f"{top:.0f}, and exp overflows float32 above 88.7 — subtract the running maximum "
            f"before exp (p = exp(s − m)), and rescale by exp(m_old − m_new)"
        )
    return None


def _judge_blocks(args, label, atol=2e-5, rtol=2e-4):
    q, k, v, causal = args["q"], args["k"], args["v"], args.get("causal", False)
    n = q.shape[-2]

    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        exp = softmax_attention(q, k, v, causal)
        results = {bs: res.data[f"out_{bs}"] for bs in args["block_sizes"]}
        outcomes = {
            bs: close(got, exp, f"{label}, block_size={bs}", atol=atol, rtol=rtol)
            for bs, got in results.items()
        }
        bad = [bs for bs, o in outcomes.items() if o.status != "pass"]
        if not bad:
            return Outcome.passed()
        bs = bad[0]
        got = results[bs]
        witness = _witness(outcomes[bs].message, f"{label}, block_size={bs}")
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
                    f"{float((got - exp).abs().max()):.3g})"
                )
            if torch.allclose(
                got, softmax_attention(q * math.sqrt(q.shape[-1]), k, v, causal), atol=1e-4, rtol=1e-3
            ):
                return Outcome.failed(
                    f"{label}: the scores are not divided by √D: softmax(q kᵀ/√D) "
                    f"v, D={q.shape[-1]} ({witness})"
                )
            tail = n % bs
            if tail and n > bs:
                kept = n - tail
                trunc = softmax_attention(q, k[..., :kept, :], v[..., :kept, :], False)
                if not causal and torch.allclose(got, trunc, atol=1e-4, rtol=1e-3):
                    return Outcome.failed(
                        f"{label}: with N={n} and block_size={bs} the last {tail} key(s) are "
                        f"ignored — N need not be a multiple of block_size: the last block is "
                        f"shorter (range(0, N, block_size), slice to min(start + block_size, N))"
                    )
        if good:
            return Outcome.failed(
                f"{label}: block sizes {good} are right but block_size={bs} is not — every block "
                f"size must give the same result ({witness})"
            )
        return outcomes[bs]

    return judge


@functools.lru_cache(maxsize=4)
def _big_reference(n, d, seed):
    """Four rows and the column sums of softmax(q kᵀ/√D) v at N (non-causal), computed here in
    float64 blocks of queries: what the measured runs must reproduce."""
    q, k, v = _inputs(1, 1, n, d, seed)
    rows = torch.tensor([0, 1, n // 2, n - 1])
    colsum = torch.zeros(1, 1, d, dtype=torch.float64)
    for s in range(0, n, 2048):  # float32 blocks, summed in float64: ~1e-6 relative
        sc = q[:, :, s : s + 2048] @ k.transpose(-2, -1) / math.sqrt(d)
        colsum += (torch.softmax(sc, dim=-1) @ v).double().sum(dim=-2)
    return softmax_attention(q[:, :, rows], k, v), colsum


def _judge_memory(args):
    """Verdict from the peak memory the kernel accounted for two fresh children (read by the
    grader with wait4, outside the learner's process): one at a small N, whose peak is what
    importing your file and running torch's kernels costs, and one at N=8192. The growth between
    them is the N-dependent part. A constant allocation cannot hide an N×N matrix, because the
    small run is bounded too."""
    n_small, n = args["runs"][0]["n"], args["runs"][1]["n"]
    d, bs, seed = args["d"], args["block_size"], args["seed"]
    nn_mib = n * n * 4 / MIB
    # A few [N, block] blocks and [N, D] accumulators, with room for allocator slack; far below
    # the N×N matrix (and at most half of it).
    budget = min((32 * n * bs * 4 + 16 * n * d * 4) / MIB + 32, nn_mib / 2)
    startup_cap = 160.0  # MiB above a bare sandbox child: torch's kernels themselves take ~60

    def judge(res: ProbeResult) -> Outcome:
        if (hit := limit_hit(res)) is not None:
            at, err = hit
            return Outcome.failed(
                f"{err.kind} hit at N={at.get('n')} (D={d}, block_size={bs}), in a process of its "
                f"own measured by the grader: an N×N float32 score matrix takes "
                f"{at.get('n', n) ** 2 * 4 / MIB:.0f} MiB there — work on [N, block_size] score "
                f"blocks only"
            )
        runs, bad = usable_runs(res, 2)
        if bad is not None:
            return bad
        small, big = extra_mib(runs[0], res), extra_mib(runs[1], res)
        grew = big - small
        figures = {
            "peak_growth_mib": round(grew, 1),
            "n": n,
            "nxn_mib": nn_mib,
            "budget_mib": round(budget, 1),
        }
        how = "peak memory measured by the grader outside your process"
        kernel = "the kernel's peak for a fresh process at each size"
        if small > startup_cap:
            imp = import_extra_mib(res)
            return Outcome.failed(
                f"{how} ({kernel}): already +{small:.1f} MiB at N={n_small}"
                + (f" (importing your file alone: +{imp:.1f} MiB)" if imp is not None else "")
                + " — something large is allocated whatever N is, which would hide the N×N "
                "cost this test looks for. Allocate only what the blocks need",
                **figures,
            )
        if grew > budget:
            return Outcome.failed(
                f"{how}: +{grew:.1f} MiB at N={n}; a tiled version needs about +25 MiB (limit "
                f"here {budget:.0f} MiB; D={d}, block_size={bs}; growth above a run at N={n_small}, "
                f"{kernel}), "
                f"and an N×N float32 matrix is {nn_mib:.0f} MiB. Something N×N is built — the "
                f"full score matrix, its mask, or exp of it: keep only one [N, block_size] block "
                f"alive",
                **figures,
            )
        for run, nr in zip(runs, (n_small, n)):
            rows = torch.tensor([0, 1, nr // 2, nr - 1])
            exp_rows, exp_colsum = _big_reference(nr, d, seed)
            out = close(
                run.data.get("sample"),
                exp_rows,
                f"rows {rows.tolist()} of the output at N={nr}",
                atol=5e-5,
                rtol=5e-4,
            )
            if out.status != "pass":
                return out
            out = close(
                run.data.get("colsum"),
                exp_colsum,
                f"the sum over all {nr} rows of the output at N={nr}",
                atol=1e-3,
                rtol=1e-4,
                check_dtype=False,
            )
            if out.status != "pass":
                return Outcome.failed(
                    out.message + " — every row of the output must be right, not only the ones shown"
                )
        return Outcome.passed(
            f"{how}: +{grew:.1f} MiB at N={n} above a run at N={n_small} ({kernel}); an N×N "
            f"float32 matrix would be {nn_mib:.0f} MiB",
            **figures,
        )

    return judge


def _shapes(ex) -> str:
    """``aten::bmm of [1, 64, 32] and [1, 32, 1234] → [1, 64, 1234]`` from a probe example."""
    if not isinstance(ex, dict):
        return "a product"
    ins = " and ".join(str(list(x)) for x in ex.get("shapes") or [])
    out = f" → {list(ex['out'])}" if ex.get("out") is not None else ""
    return f"aten::{ex.get('op')} of {ins}{out}"


def _judge_technique(args):
    """Verdict from what the learner's call did, observed at the dispatcher in the learner's
    process (probe_technique): it can only add a failure — the values and the measured memory
    are judged by the other tests. A call that shows the grader no product of queries and keys,
    or that removes the observer, is not read as fine."""
    n, d, bs, seed = args["n"], args["d"], args["block_size"], args["seed"]
    ask = (
        "work through the keys in blocks with an online softmax (a running max and sum per "
        "query, rescaling what was accumulated when the max grows), never scoring a query "
        "against every key at once"
    )

    def fault(f, causal: bool) -> str | None:
        """What one watched call shows that skips the technique, or None."""
        if not isinstance(f, dict):
            f = {}
        call = f"one call{' with causal=True' if causal else ''} at N={n}, block_size={bs}"
        where = f"seen by the grader in {call}"
        if not f.get("observer_intact", False):
            return (
                f"your code removed or replaced the grader's observer of torch operations (a "
                f"dispatch mode) during {call}: the technique cannot be checked — compute "
                f"with plain torch operations"
            )
        if not f.get("score_ops"):
            return (
                f"the grader saw no product of your queries with your keys (q·kᵀ) among the "
                f"torch operations of {call}, D={d}: compute the scores of each key block "
                f"with torch operations (q @ k_blockᵀ, einsum or matmul), in the call itself"
            )
        if f.get("score_max", 0) >= n:
            ex = f.get("score_max_ex") or {}
            rows = ex.get("queries")
            who = f"{rows} queries" if rows is not None and rows < n else "queries"
            blocked = (
                ": exact attention a block of queries at a time, or a first pass for the "
                "row maximum, skips the technique"
                if rows is not None and rows < n
                else ""
            )
            return (
                f"your code scored {who} against all {n} keys at once ({_shapes(ex)}; "
                f"{where}){blocked} — {ask}"
            )
        if f.get("pv_max", 0) >= n:
            return (
                f"your code multiplied attention weights by all {n} values at once "
                f"({_shapes(f.get('pv_max_ex'))}; {where}) — {ask}"
            )
        before_pv, before_exp = f.get("keys_before_pv"), f.get("keys_before_exp")
        if before_pv is not None and before_pv >= n and (before_exp is None or before_exp >= n):
            return (
                f"your code scored all {n} keys, block by block, before it took any exp or "
                f"accumulated any output ({where}): that is a first pass over every key (for "
                f"the row maximum, or to gather a row of scores), not an online softmax — in "
                f"one pass, use the maximum found so far and rescale what was accumulated "
                f"when it grows"
            )
        return None

    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        f = res.data if isinstance(res.data, dict) else {}
        figures = {
            "n": n,
            "block_size": bs,
            "most_keys_scored_at_once": f.get("score_max"),
            "score_products": f.get("score_ops"),
            "pv_products": f.get("pv_ops"),
        }
        for facts, causal in ((f, False), (f.get("causal"), True)):
            if (msg := fault(facts, causal)) is not None:
                return Outcome.failed(msg, **figures)
        exp_rows, exp_colsum = _big_reference(n, d, seed)
        out = close(
            f.get("sample"),
            exp_rows,
            f"rows [0, 1, {n // 2}, {n - 1}] of the output at N={n} (block_size={bs})",
            atol=5e-5,
            rtol=5e-4,
        )
        if out.status != "pass":
            return out
        out = close(
            f.get("colsum"),
            exp_colsum,
            f"the sum over all {n} rows of the output at N={n} (block_size={bs})",
            atol=1e-3,
            rtol=1e-4,
            check_dtype=False,
        )
        if out.status != "pass":
            return out
        return Outcome.passed(
            f"torch operations of one call at N={n}, D={d}, block_size={bs} (and one with "
            f"causal=True), watched by the grader: at most {f.get('score_max')} keys scored at once, in "
            f"{f.get('score_ops')} score products, accumulated into the output block by block",
            **figures,
        )

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
        (
            1,
            5,
            60,
            8,
            False,
            [1, 7, 16, 60, 64],
            1.0,
            5,
            "every block size gives the same result (1, 7, 16, 60, 64)",
        ),
        (1, 5, 60, 8, True, [1, 7, 16, 60, 64], 1.0, 6, "causal: every block size gives the same result"),
        (2, 2, 64, 16, False, [16], 150.0, 7, "huge scores (up to ~1000): exp must not overflow"),
        (1, 2, 64, 16, True, [16], 150.0, 8, "causal, huge scores: exp must not overflow"),
    ):
        q, k, v = _inputs(b, h, n, d, seed, scale)
        a = {"q": q, "k": k, "v": v, "causal": causal, "block_sizes": sizes}
        label = f"{what} ([B, H, N, D]=[{b}, {h}, {n}, {d}])"
        tol = (2e-4, 2e-3) if scale > 1 else (2e-5, 2e-4)  # float32 rounding of scores ~1000
        tests.append(
            TestCase(
                label,
                "probe_values",
                _judge_blocks(a, label, *tol),
                a,
                time_limit_s=10 if len(sizes) > 1 else None,
            )
        )
    # N not a multiple of the block size and above every common one (a hardcoded block of 64, 128,
    # 512 or 1024 still leaves several key blocks), D different from both
    a = {"n": 1234, "d": 32, "block_size": 64, "seed": 10}
    tests.append(
        TestCase(
            "the keys are processed in blocks with an online softmax (torch operations observed "
            "during a call at N=1234, D=32, block_size=64, and a causal one)",
            "probe_technique",
            _judge_technique(a),
            a,
            time_limit_s=20,
        )
    )
    a = {"d": 16, "block_size": 64, "seed": 9}
    runs = [{"n": 256}, {"n": 8192}]
    tests.append(
        TestCase(
            "memory grows like N·block_size, not N² (peak measured outside your "
            "process at N=256 and N=8192, D=16, block_size=64; N×N float32 = "
            "256 MiB)",
            "probe_memory_run",
            _judge_memory({**a, "runs": runs}),
            a,
            time_limit_s=30,
            runs=runs,
        )
    )
    return tests


TESTS = _tests()
