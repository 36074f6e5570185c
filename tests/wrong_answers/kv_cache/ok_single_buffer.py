# correct: one [2, B, H, max_len, D] buffer, narrow() views, mask built with torch.ones().tril(diagonal=past)
import math
import torch
from torch import nn


class KVCache:
    def __init__(self, batch_size, n_heads, max_len, head_dim, dtype=torch.float32, device=None):
        self.buf = torch.empty(2, batch_size, n_heads, max_len, head_dim, dtype=dtype, device=device)
        self.n = 0

    def __len__(self):
        return self.n

    def update(self, k_new, v_new):
        t = k_new.shape[2]
        if self.n + t > self.buf.shape[3]:
            raise ValueError("cache full")
        self.buf[0].narrow(2, self.n, t).copy_(k_new)
        self.buf[1].narrow(2, self.n, t).copy_(v_new)
        self.n += t
        return self.buf[0].narrow(2, 0, self.n), self.buf[1].narrow(2, 0, self.n)


class CachedSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.h = n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=False)
        self.k_proj = nn.Linear(d_model, d_model, bias=False)
        self.v_proj = nn.Linear(d_model, d_model, bias=False)
        self.out_proj = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x, cache=None):
        B, T, C = x.shape
        split = lambda t: t.reshape(B, T, self.h, C // self.h).permute(0, 2, 1, 3)
        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        past = 0 if cache is None else len(cache)
        if cache is not None:
            k, v = cache.update(k, v)
        allowed = torch.ones(T, past + T, dtype=torch.bool).tril(diagonal=past)
        w = (q @ k.transpose(-1, -2)) / math.sqrt(C // self.h)
        w = w.masked_fill(~allowed, float("-inf")).softmax(-1)
        return self.out_proj((w @ v).permute(0, 2, 1, 3).reshape(B, T, C))
