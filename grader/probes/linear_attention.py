"""Sandbox side of the linear_attention checks."""

from __future__ import annotations

import math

import torch

from studytool.grader.sandbox_api import peak_memory


def probe_values(mod, q, k, v, causal=False, eps=None):
    kwargs = {"causal": causal} if eps is None else {"causal": causal, "eps": eps}
    with torch.no_grad():
        out = mod.linear_attention(q, k, v, **kwargs)
    return {"out": out.detach().clone() if isinstance(out, torch.Tensor) else repr(type(out))}


class _OpCounter(torch.utils._python_dispatch.TorchDispatchMode):
    """Counts elements produced by every aten op (elementwise ops included) and the largest one."""

    def __init__(self):
        super().__init__()
        self.elements = 0
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in (out if isinstance(out, (list, tuple)) else (out,)):
            if isinstance(t, torch.Tensor):
                self.elements += t.numel()
                self.largest = max(self.largest, t.numel())
        return out


def probe_cost(mod, lengths, d, dv, causal, seed=0):
    """FLOPs (FlopCounterMode) and elements produced by all ops, at each length."""
    from torch.utils.flop_counter import FlopCounterMode

    flops, elements, largest = [], [], []
    gen = torch.Generator().manual_seed(seed)
    for n in lengths:
        q = torch.randn(1, 2, n, d, generator=gen)
        k = torch.randn(1, 2, n, d, generator=gen)
        v = torch.randn(1, 2, n, dv, generator=gen)
        counter = _OpCounter()
        with torch.no_grad(), FlopCounterMode(display=False) as fc, counter:
            mod.linear_attention(q, k, v, causal=causal)
        flops.append(int(fc.get_total_flops()))
        elements.append(int(counter.elements))
        largest.append(int(counter.largest))
    return {"lengths": list(lengths), "flops": flops, "elements": elements, "largest": largest}


def probe_memory(mod, n, d, dv, causal, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(1, 1, n, d, generator=gen)
    k = torch.randn(1, 1, n, d, generator=gen)
    v = torch.randn(1, 1, n, dv, generator=gen)
    rows = torch.tensor([0, 1, n // 2, n - 1])

    def run():
        with torch.no_grad():
            out = mod.linear_attention(q, k, v, causal=causal)
        return out[:, :, rows].detach().clone()

    try:
        sample, peak = peak_memory(run)
    except (MemoryError, RuntimeError) as exc:
        # Report running out of memory as data, so the judge can say what it means here.
        if isinstance(exc, RuntimeError) and "can't allocate memory" not in str(exc):
            raise
        return {"out_of_memory": True, "message": f"{type(exc).__name__}: {str(exc)[:160]}"}
    return {"out_of_memory": False, "peak_bytes": int(peak), "rows": rows, "sample": sample}
