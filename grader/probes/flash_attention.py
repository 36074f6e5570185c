"""Sandbox side of the flash_attention checks."""

from __future__ import annotations


import torch

from studytool.grader.sandbox_api import snapshot


def probe_values(mod, q, k, v, causal=False, block_sizes=(64,)):
    out = {}
    with torch.no_grad():
        for bs in block_sizes:
            r = mod.tiled_attention(q, k, v, causal=causal, block_size=bs)
            out[f"out_{bs}"] = snapshot(r)
    return out


def probe_default_block(mod, q, k, v):
    with torch.no_grad():
        r = mod.tiled_attention(q, k, v)
    return {"out_64": snapshot(r)}


def probe_memory_run(mod, n, d, block_size, causal=False, seed=0):
    """One measured run (a fresh child per run; the grader reads its peak memory from the kernel
    with wait4, outside this process): attention at N, and four rows of its output so the judge
    can tell that the work was done."""
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(1, 1, n, d, generator=gen)
    k = torch.randn(1, 1, n, d, generator=gen)
    v = torch.randn(1, 1, n, d, generator=gen)
    rows = torch.tensor([0, 1, n // 2, n - 1])
    with torch.no_grad():
        out = mod.tiled_attention(q, k, v, causal=causal, block_size=block_size)
    if not isinstance(out, torch.Tensor):
        return {"sample": snapshot(out), "colsum": None}
    # four rows as a witness, and the sum over all N rows, which only the whole output gives
    return {"sample": snapshot(out[:, :, rows]), "colsum": out.double().sum(dim=-2)}
