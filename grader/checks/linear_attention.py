"""Trusted side of the linear_attention checks."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from studytool.grader.compare import close
from studytool.grader.references.linear_attention import linear_attention as reference
from studytool.grader.spec import Outcome, ProbeResult, TestCase

MIB = 1 << 20


def _witness(message: str, label: str) -> str:
    """The comparison's witness without the label already said at the start of the message."""
    return message[len(label) + 2:] if message.startswith(label + ": ") else message


def _error(res: ProbeResult) -> Outcome | None:
    return None if res.ok else Outcome.errored(res.error.describe())


def _inputs(b, h, n, d, dv, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, h, n, d, generator=g), torch.randn(b, h, n, d, generator=g),
            torch.randn(b, h, n, dv, generator=g))


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
        "the feature map is φ(x) = elu(x) + 1; yours looks like elu(x) without the + 1":
            kernel(F.elu),
        "the denominator φ(q_i)ᵀ Σ_j φ(k_j) + eps is missing (the output is not normalised)":
            kernel(elu1, normalise=False),
        "this is softmax attention; linear attention replaces exp(q·k) by φ(q)·φ(k)":
            torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).masked_fill(
                torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).triu(1) & causal,
                float("-inf")), dim=-1) @ v,
    }
    if causal:
        out["causal=True, but every query sums over all positions: the sums must run over "
            "j ≤ i only (prefix sums, cumsum over the sequence axis)"] = kernel(elu1, causal_=False)
    else:
        out["causal=False, but the sums run over j ≤ i only: without causal, every query sees "
            "all positions"] = kernel(elu1, causal_=True)
    if eps != 0:
        out[f"eps={eps} is ignored: it belongs in the denominator, φ(q_i)ᵀ Σ φ(k_j) + eps"] = \
            kernel(elu1, eps_=0.0)
        out["eps is added inside the sum over keys instead of once to the denominator"] = kernel(
            elu1, eps_=eps * k.shape[-2])
    return out


def _judge_values(args, label):
    def judge(res: ProbeResult) -> Outcome:
        q, k, v, causal = args["q"], args["k"], args["v"], args["causal"]
        if not res.ok:
            msg = res.error.message.lower()
            if (res.error.kind == "exception" and v.shape[-1] != q.shape[-1]
                    and res.error.type == "RuntimeError" and ("size" in msg or "shape" in msg)):
                return Outcome.failed(
                    f"{label}: raised {res.error.describe()} — v has its own last size "
                    f"Dv={v.shape[-1]}, not D={q.shape[-1]}: Σ φ(k_j) v_jᵀ is D×Dv and the output "
                    f"is [B, H, N, Dv]")
            return Outcome.errored(res.error.describe())
        eps = 1e-6 if args["eps"] is None else args["eps"]
        exp = reference(q, k, v, causal=causal, eps=eps)
        got = res.data["out"]
        if isinstance(got, torch.Tensor) and got.shape != exp.shape and v.shape[-1] != q.shape[-1]:
            return Outcome.failed(
                f"{label}: output shape {list(got.shape)}, expected {list(exp.shape)} — v has its "
                f"own last size Dv={v.shape[-1]} (D={q.shape[-1]}); the output has v's last size")
        out = close(got, exp, label, atol=1e-5, rtol=1e-4)
        if out.status == "pass" or not isinstance(got, torch.Tensor) or got.shape != exp.shape:
            return out
        for why, wrong in _mistakes(q.double(), k.double(), v.double(), causal, eps).items():
            if torch.allclose(got.double(), wrong, atol=1e-4, rtol=1e-3):
                return Outcome.failed(f"{label}: {why}. ({_witness(out.message, label)})")
        return out

    return judge


def _slope(xs, ys):
    if min(ys) <= 0:
        return None
    return (math.log2(ys[-1]) - math.log2(ys[0])) / (math.log2(xs[-1]) - math.log2(xs[0]))


def _judge_cost(args):
    def judge(res: ProbeResult) -> Outcome:
        if (bad := _error(res)) is not None:
            return bad
        d = res.data
        lengths = d["lengths"]
        figures = {"lengths": lengths, "flops": d["flops"], "elements": d["elements"]}
        for key, what in (("flops", "matmul FLOPs (2·M·K·N per matmul/einsum, as FlopCounterMode counts them)"),
                          ("elements", "elements produced by all tensor ops"),
                          ("largest", "size of the largest intermediate tensor")):
            s = _slope(lengths, d[key])
            if s is not None and s > 1.5:
                seq = ", ".join(f"{v:.3g}" for v in d[key])
                return Outcome.failed(
                    f"cost grows like N^{s:.2f} ({'causal' if args['causal'] else 'non-causal'}): "
                    f"{what} = {seq} at N = {lengths}. An N×N matrix is formed — (φ(Q)φ(K)ᵀ)V is "
                    f"quadratic. Use associativity: φ(Q)(φ(K)ᵀV), where φ(K)ᵀV is only D×Dv",
                    **figures)
        s = _slope(lengths, d["flops"])
        return Outcome.passed(
            f"FLOPs grow like N^{s:.2f}" if s is not None else "no matmul FLOPs counted", **figures)

    return judge


def _judge_memory(args):
    n, d, dv, causal, seed = args["n"], args["d"], args["dv"], args["causal"], args["seed"]
    nn_mib = n * n * 4 / MIB
    limit = nn_mib / 4

    def judge(res: ProbeResult) -> Outcome:
        if not res.ok:
            kind = res.error.kind
            if kind in ("memory limit", "time limit"):
                return Outcome.failed(
                    f"{kind} hit at N={n} ({'causal' if causal else 'non-causal'}): an N×N float32 "
                    f"matrix alone takes {nn_mib:.0f} MiB here — the N×N matrix is being formed. "
                    f"Linear attention needs O(N·D·Dv) memory: compute φ(K)ᵀV first")
            return Outcome.errored(res.error.describe())
        data = res.data
        if data.get("out_of_memory"):
            return Outcome.failed(
                f"ran out of memory at N={n} ({data['message'][:80]}…): an N×N float32 matrix "
                f"alone takes {nn_mib:.0f} MiB here, so the N×N matrix is being formed. "
                f"Linear attention needs O(N·D·Dv) memory: compute φ(K)ᵀV first")
        peak = data["peak_bytes"] / MIB
        figures = {"peak_mib": round(peak, 1), "n": n, "nxn_mib": nn_mib}
        if peak > limit:
            return Outcome.failed(
                f"peak memory grew by {peak:.0f} MiB at N={n} ({'causal' if causal else 'non-causal'}"
                f", D={d}, Dv={dv}); an N×N float32 matrix takes {nn_mib:.0f} MiB, linear attention "
                f"needs a few MiB (limit here {limit:.0f} MiB). Something of size N×N is formed: "
                f"compute φ(K)ᵀV (D×Dv) first, then φ(Q)·that", **figures)
        q, k, v = _inputs(1, 1, n, d, dv, seed)
        rows = data["rows"]
        exp = reference(q, k, v, causal=causal)[:, :, rows]
        out = close(data["sample"], exp, f"rows {rows.tolist()} of the output at N={n}",
                    atol=1e-4, rtol=1e-3)
        if out.status != "pass":
            return out
        return Outcome.passed(f"peak memory +{peak:.1f} MiB at N={n} (N×N would be {nn_mib:.0f} MiB)",
                              **figures)

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
            (2, 2, 13, 6, 6, True, 0.5, 6)):
        q, k, v = _inputs(b, h, n, d, dv, seed)
        a = {"q": q, "k": k, "v": v, "causal": causal, "eps": eps}
        label = (f"{'causal' if causal else 'non-causal'}, [B, H, N, D]=[{b}, {h}, {n}, {d}], "
                 f"Dv={dv}" + (f", eps={eps}" if eps is not None else ""))
        tests.append(TestCase(f"values: {label}", "probe_values", _judge_values(a, label), a,
                              expect_error=dv != d))
    for causal in (False, True):
        a = {"lengths": [256, 512, 1024], "d": 16, "dv": 16, "causal": causal, "seed": 7}
        tests.append(TestCase(f"cost grows linearly in N ({'causal' if causal else 'non-causal'}; "
                              f"FLOPs and op sizes at N = 256, 512, 1024)",
                              "probe_cost", _judge_cost(a), a, time_limit_s=20))
    for causal in (False, True):
        a = {"n": 16384, "d": 16, "dv": 16, "causal": causal, "seed": 8}
        tests.append(TestCase(f"no N×N matrix: peak memory at N=16384 "
                              f"({'causal' if causal else 'non-causal'}; N×N float32 = 1 GiB)",
                              "probe_memory", _judge_memory(a), a, time_limit_s=30))
    return tests


TESTS = _tests()
