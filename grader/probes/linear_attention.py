"""Sandbox side of the linear_attention checks."""

from __future__ import annotations

import torch
from studytool.grader.sandbox_api import snapshot


def probe_values(mod, q, k, v, causal=False, eps=None):
    kwargs = {"causal": causal} if eps is None else {"causal": causal, "eps": eps}
    with torch.no_grad():
        out = mod.linear_attention(q, k, v, **kwargs)
    return {"out": snapshot(out)}


def probe_run(mod, n, d, dv, causal, seed=0, heads=1, reps=1):
    """One measured run (a fresh child; its CPU time and peak memory are read by the grader from
    the kernel with wait4, outside this process): linear attention at N, ``reps`` times, and four
    rows of the output so the judge can tell that the work was done."""
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(1, heads, n, d, generator=gen)
    k = torch.randn(1, heads, n, d, generator=gen)
    v = torch.randn(1, heads, n, dv, generator=gen)
    rows = torch.tensor([0, 1, n // 2, n - 1])
    out = None
    with torch.no_grad():
        for _ in range(reps):
            out = mod.linear_attention(q, k, v, causal=causal)
    if not isinstance(out, torch.Tensor):
        return {"sample": snapshot(out), "colsum": None}
    # four rows as a witness, and the sum over all N rows, which only the whole output gives
    return {"sample": snapshot(out[:, :, rows]), "colsum": out.double().sum(dim=-2)}
