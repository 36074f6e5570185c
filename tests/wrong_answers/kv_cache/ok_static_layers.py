# correct: Hugging Face StaticCache-style: a list of layer objects, each allocating its
# max_len buffers lazily on its first update (not in __init__), then writing in place
from __future__ import annotations

import math

import torch
from torch import nn


class StaticLayer:
    def __init__(self, max_cache_len):
        self.max_cache_len = max_cache_len
        self.keys = None
        self.values = None

    def lazy_init(self, k):
        b, h, _, d = k.shape
        self.keys = torch.zeros(b, h, self.max_cache_len, d, dtype=k.dtype, device=k.device)
        self.values = torch.zeros_like(self.keys)

    def update(self, k, v, start):
        if self.keys is None:
            self.lazy_init(k)
        self.keys.index_copy_(2, torch.arange(start, start + k.shape[2]), k)
        self.values.index_copy_(2, torch.arange(start, start + v.shape[2]), v)
        return self.keys, self.values


class KVCache:
    def __init__(self, batch_size, n_heads, max_len, head_dim, dtype=torch.float32, device=None):
        self.layers = [StaticLayer(max_len)]
        self.max_len = max_len
        self.seen = 0

    def __len__(self):
        return self.seen

    def update(self, k_new, v_new):
        t = k_new.shape[2]
        if self.seen + t > self.max_len:
            raise ValueError("StaticCache is full")
        k, v = self.layers[0].update(k_new, v_new, self.seen)
        self.seen += t
        return k[:, :, :self.seen], v[:, :, :self.seen]


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
            past = len(cache)              # the new tokens sit at positions past, past+1, ...
            k, v = cache.update(k, v)      # all keys/values so far: [B, H, past + t, D]
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # [B, H, t, past + t]
        # Query r is at absolute position past + r; it may see key s iff s <= past + r.
        rows = torch.arange(t, device=x.device)[:, None] + past
        cols = torch.arange(k.shape[2], device=x.device)[None, :]
        scores = scores.masked_fill(cols > rows, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v                        # [B, H, t, D]
        return self.out_proj(out.transpose(1, 2).reshape(b, t, d))
