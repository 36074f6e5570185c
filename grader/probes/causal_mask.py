"""Sandbox side of the causal_mask checks: call the learner's functions, return plain data."""

from __future__ import annotations

import torch


def probe_mask(mod, sizes):
    return {"masks": [mod.causal_mask(n) for n in sizes]}


def probe_attention(mod, cases):
    """cases: list of {"q", "k", "v"} → outputs, and whether the inputs were left untouched."""
    outs, untouched = [], []
    for case in cases:
        q, k, v = (case[x].clone() for x in ("q", "k", "v"))
        outs.append(mod.causal_attention(q, k, v))
        untouched.append(
            bool(torch.equal(q, case["q"]) and torch.equal(k, case["k"]) and torch.equal(v, case["v"]))
        )
    return {"out": outs, "untouched": untouched}


def probe_perturb(mod, q, k, v, delta):
    """Output for the original inputs, then with key/value/query position t changed, for each t."""
    base = mod.causal_attention(q.clone(), k.clone(), v.clone())
    perturbed = []
    for t in range(q.shape[-2]):
        q2, k2, v2 = q.clone(), k.clone(), v.clone()
        q2[..., t, :] += delta
        k2[..., t, :] += delta
        v2[..., t, :] += delta
        perturbed.append(mod.causal_attention(q2, k2, v2))
    return {"base": base, "perturbed": perturbed}
