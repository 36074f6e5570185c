"""Reference: the causal mask (True = may attend, j <= i) and causal scaled dot-product attention."""

import math

import torch


def causal_mask(seq_len: int) -> torch.Tensor:
    return torch.ones(seq_len, seq_len, dtype=torch.bool).tril()


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ / √D, masked) v for q, k, v of shape [B, H, N, D]."""
    n = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # [B, H, N, N]
    scores = scores.masked_fill(~causal_mask(n).to(q.device), float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # over keys: rows sum to 1
    return weights @ v
