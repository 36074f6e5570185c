# correct: a shared base class, causal via is_causal together with a boolean mask
import torch
from torch import nn


class _Block(nn.Module):
    def __init__(self, d_model, n_heads, d_ff):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))

    def _sa(self, h, causal):
        if causal:
            n = h.shape[1]
            m = ~torch.tril(torch.ones(n, n, dtype=torch.bool))
            return self.attn(h, h, h, attn_mask=m, is_causal=True, need_weights=False)[0]
        return self.attn(h, h, h, need_weights=False)[0]


class PreLNBlock(_Block):
    def forward(self, x, causal=False):
        x = x + self._sa(self.ln1(x), causal)
        return x + self.ff(self.ln2(x))


class PostLNBlock(_Block):
    def forward(self, x, causal=False):
        x = self.ln1(x + self._sa(x, causal))
        return self.ln2(x + self.ff(x))
