"""Reference: attention computed block by block with an online softmax (FlashAttention's idea).

softmax(q kᵀ/√D) v never needs the whole N×N score matrix. Walk over the keys in blocks and
keep, for every query row, a running maximum m, a running sum ℓ = Σ exp(s − m) and a running
unnormalised output o = Σ exp(s − m) v. When a new block raises the maximum from m to m',
what was accumulated was computed relative to the old maximum, so it is rescaled by
exp(m − m'). At the end out = o / ℓ. Subtracting the maximum also keeps exp from overflowing.

Memory: one [N, block] score block at a time, O(N·block) instead of O(N²). On a GPU the same
trick keeps blocks in on-chip SRAM and avoids writing the N×N matrix to HBM: more arithmetic
(recomputation), far less memory traffic — time traded for space, and faster in wall time (Q21).
"""

from __future__ import annotations

import math

import torch


def tiled_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False, block_size: int = 64
) -> torch.Tensor:
    """q, k, v: [B, H, N, D]. Returns softmax(q kᵀ / √D [causal-masked]) v, [B, H, N, D]."""
    *batch, n, d = q.shape
    q = q * (1.0 / math.sqrt(d))
    m = torch.full((*batch, n, 1), float("-inf"), dtype=q.dtype, device=q.device)  # running max
    l = torch.zeros((*batch, n, 1), dtype=q.dtype, device=q.device)  # running sum
    o = torch.zeros((*batch, n, v.shape[-1]), dtype=q.dtype, device=q.device)  # running output
    rows = torch.arange(n, device=q.device)[:, None]
    for start in range(0, n, block_size):  # the last block may be shorter
        end = min(start + block_size, n)
        s = q @ k[..., start:end, :].transpose(-2, -1)  # [.., N, block] scores
        if causal:
            cols = torch.arange(start, end, device=q.device)[None, :]
            s = s.masked_fill(cols > rows, float("-inf"))
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
        # A row whose keys so far are all masked has m_new = -inf; use 0 there so that
        # exp(-inf - 0) = 0 instead of exp(-inf - (-inf)) = nan.
        m_safe = torch.where(torch.isinf(m_new), torch.zeros_like(m_new), m_new)
        p = torch.exp(s - m_safe)  # ≤ 1: cannot overflow
        alpha = torch.exp(m - m_safe)  # rescales the old accumulators
        l = alpha * l + p.sum(dim=-1, keepdim=True)
        o = alpha * o + p @ v[..., start:end, :]
        m = m_new
    return o / l
