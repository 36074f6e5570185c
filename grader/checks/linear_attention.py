"""Trusted side of the linear_attention checks."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from studytool.grader.checks._measured import cpu_seconds, extra_mib, import_extra_mib, limit_hit, usable_runs
from studytool.grader.compare import close
from studytool.grader.references.linear_attention import linear_attention as reference
from studytool.grader.spec import Outcome, ProbeResult, TestCase

MIB = 1 << 20


def _witness(message: str, label: str) -> str:
    """The comparison's witness without the label already said at the start of the message."""
    return message[len(label) + 2 :] if message.startswith(label + ": ") else message


def _error(res: ProbeResult) -> Outcome | None:
    return None if res.ok else Outcome.errored(res.error.describe())


def _inputs(b, h, n, d, dv, seed):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(b, h, n, d, generator=g),
        torch.randn(b, h, n, d, generator=g),
        torch.randn(b, h, n, dv, generator=g),
    )


def _mistakes(q, k, v, causal, eps):
    """What common mistakes would return, to name the fault when an answer matches one."""

    def kernel(phi, normalise=True, causal_=causal, eps_=eps):
        a = phi(q) @ phi(k).transpose(-2, -1)
        if causal_:
            a = a.tril()
        if not normalise:
            return a @ v
        return (a @ v) / (a.sum(-1, keepdim=True) + eps_)

    elu1 = lambda x: F.elu(x) + 1  # noqa: E731
    out = {
        "the feature map is φ(x) = elu(x) + 1; yours looks like elu(x) without the + 1": kernel(F.elu),
        "the denominator φ(q_i)ᵀ Σ_j φ(k_j) + eps is missing (the output is not normalised)": kernel(
            elu1, normalise=False
        ),
        "this is softmax attention; linear attention replaces exp(q·k) by φ(q)·φ(k)": torch.softmax(
            (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).masked_fill(
                torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).triu(1) & causal, float("-inf")
            ),
            dim=-1,
        )
        @ v,
    }
    if causal:
        out[
            "causal=True, but every query sums over all positions: the sums must run over "
            "j ≤ i only (prefix sums, cumsum over the sequence axis)"
        ] = kernel(elu1, causal_=False)
    else:
        out[
            "causal=False, but the sums run over j ≤ i only: without causal, every query sees all positions"
        ] = kernel(elu1, causal_=True)
    if eps != 0:
        out[f"eps={eps} is ignored: it belongs in the denominator, φ(q_i)ᵀ Σ φ(k_j) + eps"] = kernel(
            elu1, eps_=0.0
        )
        out["eps is added inside the sum over keys instead of once to the denominator"] = kernel(
            elu1, eps_=eps * k.shape[-2]
        )
    return out


def _judge_values(args, label):
    def judge(res: ProbeResult) -> Outcome:
        q, k, v, causal = args["q"], args["k"], args["v"], args["causal"]
        if not res.ok:
            msg = res.error.message.lower()
            if (
                res.error.kind == "exception"
                and v.shape[-1] != q.shape[-1]
                and res.error.type == "RuntimeError"
                and ("size" in msg or "shape" in msg)
            ):
                return Outcome.failed(
                    f"{label}: raised {res.error.describe()} — v has its own last size "
                    f"Dv={v.shape[-1]}, not D={q.shape[-1]}: Σ φ(k_j) v_jᵀ is D×Dv and the output "
                    f"is [B, H, N, Dv]"
                )
            return Outcome.errored(res.error.describe())
        eps = 1e-6 if args["eps"] is None else args["eps"]
        exp = reference(q, k, v, causal=causal, eps=eps)
        got = res.data["out"]
        if isinstance(got, torch.Tensor) and got.shape != exp.shape and v.shape[-1] != q.shape[-1]:
            return Outcome.failed(
                f"{label}: output shape {list(got.shape)}, expected {list(exp.shape)} — v has its "
                f"own last size Dv={v.shape[-1]} (D={q.shape[-1]}); the output has v's last size"
            )
        out = close(got, exp, label, atol=1e-5, rtol=1e-4)
        if out.status == "pass" or not isinstance(got, torch.Tensor) or got.shape != exp.shape:
            return out
        for why, wrong in _mistakes(q.double(), k.double(), v.double(), causal, eps).items():
            if torch.allclose(got.double(), wrong, atol=1e-4, rtol=1e-3):
                return Outcome.failed(f"{label}: {why}. ({_witness(out.message, label)})")
        return out

    return judge


HOW_CPU = (
    "CPU time measured by the grader outside your process (the kernel's account of a fresh process per size)"
)
HOW_MEM = "peak memory measured by the grader outside your process"
KERNEL = "the kernel's peak for a fresh process at each size"


@functools.lru_cache(maxsize=8)
def _big_reference(n, d, dv, causal, seed, heads):
    """Four rows and the column sums of the reference at N (what a measured run must give)."""
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(1, heads, n, d, generator=gen)
    k = torch.randn(1, heads, n, d, generator=gen)
    v = torch.randn(1, heads, n, dv, generator=gen)
    out = reference(q, k, v, causal=causal)
    rows = torch.tensor([0, 1, n // 2, n - 1])
    return out[:, :, rows], out.double().sum(dim=-2)


def _check_run_values(run, n, args, heads) -> Outcome | None:
    exp_rows, exp_colsum = _big_reference(n, args["d"], args["dv"], args["causal"], args["seed"], heads)
    rows = [0, 1, n // 2, n - 1]
    out = close(run.data.get("sample"), exp_rows, f"rows {rows} of the output at N={n}", atol=1e-4, rtol=1e-3)
    if out.status != "pass":
        return out
    out = close(
        run.data.get("colsum"),
        exp_colsum,
        f"the sum over all {n} rows of the output at N={n}",
        atol=1e-2,
        rtol=1e-4,
        check_dtype=False,
    )
    if out.status != "pass":
        return Outcome.failed(out.message + " — every row must be right, not only the ones shown")
    return None


def _score_matmul_seconds(n, d, heads) -> float:
    """CPU seconds this machine takes (one thread, here on the trusted side) to form the N×N
    score matrix φ(Q)φ(K)ᵀ for all heads: the least work a quadratic answer does."""
    a, b = torch.randn(2048, d), torch.randn(n, d)
    one_block = cpu_seconds(("score_matmul", n, d), lambda: a @ b.T)  # [2048, N] of scores
    return one_block * heads * n / 2048


def _judge_cost(args):
    """Verdict from CPU time measured outside the learner's process, one fresh child per size,
    at sizes a 4× step apart: from differences between runs (the cost of starting and importing
    cancels), a quadratic cost grows 16× per step and a linear one 4×."""
    sizes = [r["n"] for r in args["runs"]]
    heads = args["heads"]
    kind = "causal" if args["causal"] else "non-causal"

    def judge(res: ProbeResult) -> Outcome:
        if (hit := limit_hit(res)) is not None:
            at, err = hit
            return Outcome.failed(
                f"cost grows like N² ({kind}): the {err.kind} was hit at N={at.get('n')}, in a "
                f"process of its own measured by the grader ({err.describe()}). Linear attention "
                f"at that size takes a fraction of a second: an N×N matrix is formed (or every "
                f"query meets every key) — use associativity, φ(Q)(φ(K)ᵀV)"
            )
        runs, bad = usable_runs(res, len(sizes))
        if bad is not None:
            return bad
        cpu = [float(r.usage.cpu_s) for r in runs]
        d1, d2 = cpu[1] - cpu[0], cpu[2] - cpu[1]
        ratio = d2 / d1 if d1 > 0.005 else None
        floor = 0.25 * _score_matmul_seconds(sizes[2], args["d"], heads)
        figures = {
            "lengths": sizes,
            "cpu_s": [round(c, 4) for c in cpu],
            "growth_ratio": round(ratio, 2) if ratio is not None else None,
        }
        seq = ", ".join(f"{c:.3f} s" for c in cpu)
        where = f"{seq} at N = {', '.join(map(str, sizes))} ({kind}, {heads} heads)"
        if d2 > floor and (ratio is None or ratio > 8):
            grew = (
                f"{ratio:.0f}× the growth from N={sizes[0]} to {sizes[1]}"
                if ratio is not None
                else f"while it grew by only {max(d1, 0):.3f} s before"
            )
            return Outcome.failed(
                f"cost grows like N² ({kind}): {HOW_CPU}: {where}. From N={sizes[1]} to "
                f"{sizes[2]} (4×) it grew by {d2:.3f} s, {grew} — a quadratic cost grows 16× per "
                f"4× step, a linear one 4×. An N×N matrix is formed (or every query meets every "
                f"key): use associativity, φ(Q)(φ(K)ᵀV), where φ(K)ᵀV is only D×Dv",
                **figures,
            )
        if (bad := _check_run_values(runs[-1], sizes[-1], args, heads)) is not None:
            return bad
        shape = (
            f"grew {ratio:.1f}× per 4× step in N (linear: 4×, quadratic: 16×)"
            if ratio is not None
            else f"grew by {d2:.3f} s from N={sizes[1]} to {sizes[2]}, far below forming the "
            f"N×N scores (about {4 * floor:.2f} s here)"
        )
        return Outcome.passed(f"{HOW_CPU}: {where}; it {shape}", **figures)

    return judge


def _judge_memory(args):
    """Verdict from peak memory measured outside the learner's process (wait4 of a fresh child
    at a small N and at N=16384; the growth between them is the N-dependent part)."""
    n_small, n = args["runs"][0]["n"], args["runs"][1]["n"]
    d, dv, causal = args["d"], args["dv"], args["causal"]
    kind = "causal" if causal else "non-causal"
    nn_mib = n * n * 4 / MIB
    limit = nn_mib / 4
    startup_cap = 160.0

    def judge(res: ProbeResult) -> Outcome:
        if (hit := limit_hit(res)) is not None:
            at, err = hit
            return Outcome.failed(
                f"{err.kind} hit at N={at.get('n')} ({kind}), in a process of its own measured "
                f"by the grader: an N×N float32 matrix alone takes "
                f"{at.get('n', n) ** 2 * 4 / MIB:.0f} MiB there — the N×N matrix is being formed. "
                f"Linear attention needs O(N·D·Dv) memory: compute φ(K)ᵀV first"
            )
        runs, bad = usable_runs(res, 2)
        if bad is not None:
            return bad
        small, big = extra_mib(runs[0], res), extra_mib(runs[1], res)
        grew = big - small
        figures = {"peak_growth_mib": round(grew, 1), "n": n, "nxn_mib": nn_mib}
        if small > startup_cap:
            imp = import_extra_mib(res)
            return Outcome.failed(
                f"{HOW_MEM} ({KERNEL}): already +{small:.1f} MiB at N={n_small}"
                + (f" (importing your file alone: +{imp:.1f} MiB)" if imp is not None else "")
                + " — something large is allocated whatever N is, which would hide the N×N cost "
                "this test looks for",
                **figures,
            )
        if grew > limit:
            return Outcome.failed(
                f"{HOW_MEM}: +{grew:.1f} MiB at N={n} ({kind}, D={d}, Dv={dv}; growth above a run "
                f"at N={n_small}, {KERNEL}); an N×N float32 matrix takes {nn_mib:.0f} MiB, linear attention "
                f"needs a few MiB (limit here {limit:.0f} MiB). Something of size N×N is formed: "
                f"compute φ(K)ᵀV (D×Dv) first, then φ(Q)·that",
                **figures,
            )
        if (bad := _check_run_values(runs[-1], n, args, 1)) is not None:
            return bad
        return Outcome.passed(
            f"{HOW_MEM}: +{grew:.1f} MiB at N={n} above a run at N={n_small} "
            f"({KERNEL}); an N×N float32 matrix would be {nn_mib:.0f} MiB",
            **figures,
        )

    return judge


def _tests() -> list[TestCase]:
    tests = []
    for b, h, n, d, dv, causal, eps, seed in (
        (2, 3, 17, 8, 8, False, None, 0),
        (1, 2, 33, 16, 5, False, None, 1),
        (2, 3, 29, 8, 8, True, None, 2),
        (1, 5, 40, 12, 7, True, None, 3),
        (1, 1, 1, 4, 3, True, None, 4),
        (2, 2, 13, 6, 6, False, 0.5, 5),
        (2, 2, 13, 6, 6, True, 0.5, 6),
    ):
        q, k, v = _inputs(b, h, n, d, dv, seed)
        a = {"q": q, "k": k, "v": v, "causal": causal, "eps": eps}
        label = f"{'causal' if causal else 'non-causal'}, [B, H, N, D]=[{b}, {h}, {n}, {d}], Dv={dv}" + (
            f", eps={eps}" if eps is not None else ""
        )
        tests.append(
            TestCase(f"values: {label}", "probe_values", _judge_values(a, label), a, expect_error=dv != d)
        )
    for causal in (False, True):
        a = {"d": 16, "dv": 16, "causal": causal, "seed": 7, "heads": 4}
        runs = [{"n": 512}, {"n": 2048}, {"n": 8192}]
        tests.append(
            TestCase(
                f"cost grows linearly in N ({'causal' if causal else 'non-causal'}; "
                f"CPU time measured outside your process at N = 512, 2048, 8192)",
                "probe_run",
                _judge_cost({**a, "runs": runs}),
                a,
                time_limit_s=20,
                runs=runs,
            )
        )
    for causal in (False, True):
        a = {"d": 16, "dv": 16, "causal": causal, "seed": 8}
        runs = [{"n": 256}, {"n": 16384}]
        tests.append(
            TestCase(
                f"no N×N matrix: peak memory measured outside your process at "
                f"N=16384 ({'causal' if causal else 'non-causal'}; N×N float32 = "
                f"1 GiB)",
                "probe_run",
                _judge_memory({**a, "runs": runs}),
                a,
                time_limit_s=30,
                runs=runs,
            )
        )
    return tests


TESTS = _tests()
