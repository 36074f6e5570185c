"""Reference: ALiBi, attention with linear biases (Press et al., 2021, "Train Short, Test Long"; ICLR 2022).

No position embedding at all: each head h adds −m_h·(i − j) to the score of query i and key j,
a penalty that grows linearly with distance. The slopes m_h form a geometric sequence: for n
heads, n a power of two, m_h = 2^(−8(h+1)/n) (for 8 heads: 1/2, 1/4, …, 1/256). For other n
the paper takes the slopes of the closest power of two below n, then every other slope of
twice that power, until there are n. Heads with small slopes look far, heads with large slopes
stay local; because the bias depends only on the distance it extrapolates to longer sequences
than seen in training (Q16).
"""

from __future__ import annotations

import math

import torch


def _power_of_two_slopes(n: int) -> list[float]:
    start = 2.0 ** (-8.0 / n)  # 2^(−8/n); slope h is start^(h+1)
    return [start ** (h + 1) for h in range(n)]


def _slopes(n: int) -> list[float]:
    if n & (n - 1) == 0:  # a power of two
        return _power_of_two_slopes(n)
    closest = 2 ** math.floor(math.log2(n))  # largest power of two below n
    extra = _slopes(2 * closest)[0::2][: n - closest]
    return _power_of_two_slopes(closest) + extra


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """[n_heads] float32 slopes, ALiBi paper's rule (incl. non-power-of-two head counts)."""
    if n_heads < 1:
        raise ValueError("n_heads must be positive")
    return torch.tensor(_slopes(n_heads), dtype=torch.float32)


def alibi_bias(n_heads: int, seq_len: int) -> torch.Tensor:
    """[n_heads, seq_len, seq_len]: −slope_h·(i − j) for j ≤ i, −inf for j > i (the future)."""
    i = torch.arange(seq_len)[:, None]
    j = torch.arange(seq_len)[None, :]
    distance = (i - j).to(torch.float32)  # ≥ 0 on and below the diagonal
    bias = -alibi_slopes(n_heads)[:, None, None] * distance  # [H, N, N]
    return bias.masked_fill((j > i)[None], float("-inf"))
