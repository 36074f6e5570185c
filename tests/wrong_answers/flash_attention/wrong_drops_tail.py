# fault: only whole blocks: the last partial block of keys is dropped
# expect: key(s) are ignored
from __future__ import annotations

import math

import torch


def tiled_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                    causal: bool = False, block_size: int = 64) -> torch.Tensor:
    """q, k, v: [B, H, N, D]. Returns softmax(q kᵀ / √D [causal-masked]) v, [B, H, N, D]."""
    *batch, n, d = q.shape
    q = q * (1.0 / math.sqrt(d))
    m = torch.full((*batch, n, 1), float("-inf"), dtype=q.dtype, device=q.device)  # running max
    l = torch.zeros((*batch, n, 1), dtype=q.dtype, device=q.device)                # running sum
    o = torch.zeros((*batch, n, v.shape[-1]), dtype=q.dtype, device=q.device)      # running output
    rows = torch.arange(n, device=q.device)[:, None]
    for start in range(0, n - block_size + 1, block_size):           # the last block may be shorter
        end = min(start + block_size, n)
        s = q @ k[..., start:end, :].transpose(-2, -1)          # [.., N, block] scores
        if causal:
            cols = torch.arange(start, end, device=q.device)[None, :]
            s = s.masked_fill(cols > rows, float("-inf"))
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
        # A row whose keys so far are all masked has m_new = -inf; use 0 there so that
        # exp(-inf - 0) = 0 instead of exp(-inf - (-inf)) = nan.
        m_safe = torch.where(torch.isinf(m_new), torch.zeros_like(m_new), m_new)
        p = torch.exp(s - m_safe)                                # ≤ 1: cannot overflow
        alpha = torch.exp(m - m_safe)                            # rescales the old accumulators
        l = alpha * l + p.sum(dim=-1, keepdim=True)
        o = alpha * o + p @ v[..., start:end, :]
        m = m_new
    return o / l
