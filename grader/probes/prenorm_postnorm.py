"""Sandbox side of the prenorm_postnorm checks."""

from __future__ import annotations

import torch
from studytool.grader.sandbox_api import snapshot
from torch import nn


def _block(mod, kind, d_model, n_heads, d_ff, state=None):
    cls = getattr(mod, kind)
    block = cls(d_model, n_heads, d_ff)
    if state is not None:
        missing, unexpected = block.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(
                f"{kind}: parameter names differ from the contract (ln1, attn, ln2, "
                f"ff = Sequential(Linear, GELU, Linear)); missing {sorted(missing)[:4]}, "
                f"unexpected {sorted(unexpected)[:4]}"
            )
    return block.eval()


def probe_forward(mod, kind, d_model, n_heads, d_ff, x, causal, state):
    block = _block(mod, kind, d_model, n_heads, d_ff, state)
    with torch.no_grad():
        out = block(x, causal=causal)
    return {"out": snapshot(out)}


def probe_zeroed(mod, kind, d_model, n_heads, d_ff, x, state):
    """The block with every parameter of attn and ff set to zero (LayerNorms from state)."""
    block = _block(mod, kind, d_model, n_heads, d_ff, state)
    with torch.no_grad():
        for p in list(block.attn.parameters()) + list(block.ff.parameters()):
            p.zero_()
        out = block(x)
    return {"out": snapshot(out)}


def _stack_grad_norms(mod, kind, n_layers, d_model, n_heads, d_ff, seed):
    torch.manual_seed(seed)
    blocks = nn.ModuleList(getattr(mod, kind)(d_model, n_heads, d_ff) for _ in range(n_layers))
    for m in blocks.modules():  # the same initialisation for every submission: Xavier, zero bias
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    final_ln = nn.LayerNorm(d_model)  # a Pre-LN stack ends with a LayerNorm (GPT-2, Xiong 2020)
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(8, 32, d_model, generator=gen)
    readout = torch.randn(200, d_model, generator=gen) / d_model**0.5
    targets = torch.randint(0, 200, (8 * 32,), generator=gen)
    y = x
    for b in blocks:
        y = b(y)
    if kind == "PreLNBlock":
        y = final_ln(y)
    loss = nn.functional.cross_entropy((y @ readout.T).reshape(-1, 200), targets)
    loss.backward()
    norms = []
    for b in blocks:
        g = b.ff[2].weight.grad
        norms.append(float(g.norm()) if g is not None else float("nan"))
    return norms


def probe_grad_by_depth(mod, depths, d_model, n_heads, d_ff, seeds=(0,)):
    """‖∂L/∂W2‖ of the LAST layer of fresh stacks of each depth, per seed (Xiong et al. 2020,
    Theorem 1: at initialisation Post-LN's does not shrink with depth L, Pre-LN's scales like
    1/√L)."""
    out = {}
    for name, kind in (("pre_ln", "PreLNBlock"), ("post_ln", "PostLNBlock")):
        out[name] = [
            [_stack_grad_norms(mod, kind, n, d_model, n_heads, d_ff, seed)[-1] for n in depths]
            for seed in seeds
        ]
    return out
