# fault: keeps every past input x and re-projects all of them at each step with F.linear(x, self.k_proj.weight), which skips forward hooks (k_proj's hook sees one row per step); the cache it fills is never read
# expect: decoding cost grows
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class KVCache:
    def __init__(self, batch_size, n_heads, max_len, head_dim, dtype=torch.float32, device=None):
        shape = (batch_size, n_heads, max_len, head_dim)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.max_len = max_len
        self.length = 0
        self.xs = None

    def __len__(self):
        return self.length

    def update(self, k_new, v_new):
        end = self.length + k_new.shape[2]
        if end > self.max_len:
            raise ValueError("KVCache is full")
        self.k[:, :, self.length:end] = k_new
        self.v[:, :, self.length:end] = v_new
        self.length = end
        return self.k[:, :, :end], self.v[:, :, :end]


class CachedSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=False)
        self.k_proj = nn.Linear(d_model, d_model, bias=False)
        self.v_proj = nn.Linear(d_model, d_model, bias=False)
        self.out_proj = nn.Linear(d_model, d_model, bias=False)

    def _heads(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)

    def forward(self, x, cache=None):
        b, t, d = x.shape
        q = self._heads(self.q_proj(x))
        k_new = self._heads(self.k_proj(x))      # what the hooks see: only the new rows
        v_new = self._heads(self.v_proj(x))
        past = 0
        if cache is not None:
            past = len(cache)
            cache.update(k_new, v_new)
            cache.xs = x if cache.xs is None else torch.cat([cache.xs, x], dim=1)
            every = cache.xs
        else:
            every = x
        k = self._heads(F.linear(every, self.k_proj.weight))   # re-projects every cached token
        v = self._heads(F.linear(every, self.v_proj.weight))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
        rows = torch.arange(t)[:, None] + past
        cols = torch.arange(k.shape[2])[None, :]
        scores = scores.masked_fill(cols > rows, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v
        return self.out_proj(out.transpose(1, 2).reshape(b, t, d))
