"""Sandbox side of the alibi checks."""

from __future__ import annotations

import torch


def _t(x):
    return x.detach().clone() if isinstance(x, torch.Tensor) else repr(type(x))


def probe_slopes(mod, head_counts):
    return {f"slopes_{n}": _t(mod.alibi_slopes(n)) for n in head_counts}


def probe_bias(mod, n_heads, seq_len):
    return {"bias": _t(mod.alibi_bias(n_heads, seq_len))}
