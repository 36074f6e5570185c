"""Reference: a preallocated key/value cache and causal self-attention that uses it.

Autoregressive decoding produces one token at a time. Without a cache, step t recomputes
the keys and values of all t earlier tokens — O(t) projections per step, O(T²) for a whole
decode. The keys and values of a past token never change (causal attention: a token never
sees the future), so we project each token once, keep its k and v, and at every step only
project the new token and attend over everything stored (Q21).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class KVCache:
    """Keys and values of the tokens seen so far, in buffers allocated once."""

    def __init__(
        self,
        batch_size: int,
        n_heads: int,
        max_len: int,
        head_dim: int,
        dtype: torch.dtype = torch.float32,
        device=None,
    ):
        shape = (batch_size, n_heads, max_len, head_dim)
        # Allocated once, here. update() writes into these and never reallocates.
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.max_len = max_len
        self.length = 0

    def __len__(self) -> int:
        return self.length

    def update(self, k_new: torch.Tensor, v_new: torch.Tensor):
        """Append [B, H, T_new, D] keys and values; return all of them so far, [B, H, T, D]."""
        t_new = k_new.shape[2]
        end = self.length + t_new
        if end > self.max_len:
            raise ValueError(f"KVCache is full: {self.length} stored + {t_new} new > max_len {self.max_len}")
        # In-place writes into the preallocated buffers: O(T_new) work, no copy of the past.
        self.k[:, :, self.length : end] = k_new
        self.v[:, :, self.length : end] = v_new
        self.length = end
        # Views (slices) of the buffers: no copy, same storage.
        return self.k[:, :, :end], self.v[:, :, :end]


class CachedSelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        if d_model % n_heads:
            raise ValueError("d_model must be divisible by n_heads")
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=False)
        self.k_proj = nn.Linear(d_model, d_model, bias=False)
        self.v_proj = nn.Linear(d_model, d_model, bias=False)
        self.out_proj = nn.Linear(d_model, d_model, bias=False)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape  # [B, T, d_model] -> [B, H, T, head_dim]
        return x.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        b, t, d = x.shape
        # Only the tokens in x are projected — with a cache, those are just the new ones.
        q = self._heads(self.q_proj(x))
        k = self._heads(self.k_proj(x))
        v = self._heads(self.v_proj(x))
        past = 0
        if cache is not None:
            past = len(cache)  # the new tokens sit at positions past, past+1, ...
            k, v = cache.update(k, v)  # all keys/values so far: [B, H, past + t, D]
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # [B, H, t, past + t]
        # Query r is at absolute position past + r; it may see key s iff s <= past + r.
        rows = torch.arange(t, device=x.device)[:, None] + past
        cols = torch.arange(k.shape[2], device=x.device)[None, :]
        scores = scores.masked_fill(cols > rows, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v  # [B, H, t, D]
        return self.out_proj(out.transpose(1, 2).reshape(b, t, d))
