"""Sandbox side of the rope checks."""

from __future__ import annotations

import torch
from studytool.grader.sandbox_api import snapshot


def probe_values(mod, x, positions=None, base=None):
    kwargs = {}
    if positions is not None:
        kwargs["positions"] = positions
    if base is not None:
        kwargs["base"] = base
    with torch.no_grad():
        out = mod.apply_rope(x, **kwargs)
    return {"out": snapshot(out)}


def probe_relative(mod, q, k, pairs, base=10000.0):
    """⟨rope(q, m), rope(k, n)⟩ for each (m, n) in pairs; q, k: [D] vectors."""
    dots = []
    with torch.no_grad():
        for m, n in pairs:
            rq = mod.apply_rope(q.view(1, 1, 1, -1), positions=torch.tensor([m]), base=base)
            rk = mod.apply_rope(k.view(1, 1, 1, -1), positions=torch.tensor([n]), base=base)
            dots.append(float((rq.reshape(-1).double() * rk.reshape(-1).double()).sum()))
    return {"dots": dots}
