"""Reference: a Pre-LN and a Post-LN Transformer block (Xiong et al., 2020).

Post-LN (the original Transformer): the LayerNorm sits on the residual path,
    h = LN1(x + Attn(x)),  out = LN2(h + FF(h)).
Pre-LN (GPT-2 onwards): the LayerNorm only feeds the sublayer; the residual path is untouched,
    h = x + Attn(LN1(x)),  out = h + FF(LN2(h)).
With a clean residual path ∂out/∂x = I + ∂F/∂x: the gradient always has the identity term
(Q17), so every layer gets a gradient of similar size at initialisation and training is
stable without a long learning-rate warm-up. Post-LN passes every gradient through each LN's
Jacobian; at initialisation the gradients near the output are large and those of early layers
shrink with depth (Q18).
"""

from __future__ import annotations

import torch
from torch import nn


def _causal_mask(n: int, device) -> torch.Tensor:
    # nn.MultiheadAttention's boolean attn_mask: True means "may NOT attend".
    return torch.ones(n, n, dtype=torch.bool, device=device).triu(1)


class PreLNBlock(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ff: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        mask = _causal_mask(x.shape[1], x.device) if causal else None
        h = self.ln1(x)  # normalise the sublayer's input only
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.ff(self.ln2(x))  # residual path stays the identity


class PostLNBlock(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ff: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        mask = _causal_mask(x.shape[1], x.device) if causal else None
        h = self.ln1(x + self.attn(x, x, x, attn_mask=mask, need_weights=False)[0])
        return self.ln2(h + self.ff(h))  # LN after the residual sum
