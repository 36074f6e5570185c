# correct: float -inf mask built with torch.full(...).triu(1), a shared helper for the sublayers
import torch
from torch import nn


def _parts(d_model, n_heads, d_ff):
    return (nn.LayerNorm(d_model), nn.MultiheadAttention(d_model, n_heads, batch_first=True),
            nn.LayerNorm(d_model),
            nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model)))


def _mask(x, causal):
    if not causal:
        return None
    n = x.size(1)
    return torch.full((n, n), float("-inf")).triu(1)


class PreLNBlock(nn.Module):
    def __init__(self, d_model, n_heads, d_ff):
        super().__init__()
        self.ln1, self.attn, self.ln2, self.ff = _parts(d_model, n_heads, d_ff)

    def forward(self, x, causal=False):
        y = self.ln1(x)
        x = x + self.attn(y, y, y, attn_mask=_mask(x, causal))[0]
        return x + self.ff(self.ln2(x))


class PostLNBlock(nn.Module):
    def __init__(self, d_model, n_heads, d_ff):
        super().__init__()
        self.ln1, self.attn, self.ln2, self.ff = _parts(d_model, n_heads, d_ff)

    def forward(self, x, causal=False):
        x = self.ln1(x + self.attn(x, x, x, attn_mask=_mask(x, causal))[0])
        return self.ln2(x + self.ff(x))
