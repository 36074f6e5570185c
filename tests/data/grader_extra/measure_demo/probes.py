"""Tests-only probe: calls the learner's ``work(n)`` and returns what it returns (plain data)."""

import torch


def run(mod, n, **_):
    out = mod.work(int(n))
    if isinstance(out, torch.Tensor):
        return {"n": n, "value": float(out.double().sum())}
    return {"n": n, "value": out}
