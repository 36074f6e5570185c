# correct: a torchtune-style KVCache module (register_buffer k_cache/v_cache, cache_pos), held by the
# learner's class rather than subclassed; its update returns the whole buffer, which is sliced
from __future__ import annotations

import math

import torch
from torch import nn


class _TuneKVCache(nn.Module):
    """Shaped like torchtune.modules.KVCache: buffers of max_seq_len, written at cache_pos."""

    def __init__(self, batch_size, num_kv_heads, max_seq_len, head_dim, dtype):
        super().__init__()
        shape = (batch_size, num_kv_heads, max_seq_len, head_dim)
        self.register_buffer("k_cache", torch.zeros(shape, dtype=dtype), persistent=False)
        self.register_buffer("v_cache", torch.zeros(shape, dtype=dtype), persistent=False)
        self.register_buffer("cache_pos", torch.arange(0, max_seq_len), persistent=False)
        self.size = 0

    def update(self, k_val, v_val):
        seq_len = k_val.shape[2]
        pos = self.cache_pos[:seq_len]
        self.k_cache[:, :, pos] = k_val
        self.v_cache[:, :, pos] = v_val
        self.cache_pos.add_(seq_len)
        self.size += seq_len
        return self.k_cache, self.v_cache


class KVCache:
    def __init__(self, batch_size, n_heads, max_len, head_dim, dtype=torch.float32, device=None):
        self.inner = _TuneKVCache(batch_size, n_heads, max_len, head_dim, dtype)
        self.max_len = max_len

    def __len__(self):
        return self.inner.size

    def update(self, k_new, v_new):
        if self.inner.size + k_new.shape[2] > self.max_len:
            raise ValueError("KVCache is full")
        k, v = self.inner.update(k_new, v_new)
        n = self.inner.size
        return k[:, :, :n], v[:, :, :n]


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
