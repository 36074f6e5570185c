"""Exercise 6 — Pre-LN and Post-LN Transformer blocks (Q18, Q17, checklist p02).

Check your work with:  studytool check prenorm_postnorm

Keep the submodule names: the grader loads its weights into ln1, attn, ln2 and ff.
"""

import torch
from torch import nn


class PreLNBlock(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ff: int):
        super().__init__()
        # self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        # self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        # self.ff = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))
        raise NotImplementedError

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        """x: [B, T, d_model]. Pre-LN: h = x + attn(ln1(x)), then h + ff(ln2(h)).

        causal=True: position i attends only to positions ≤ i.
        """
        raise NotImplementedError


class PostLNBlock(nn.Module):
    def __init__(self, d_model: int, n_heads: int, d_ff: int):
        super().__init__()
        raise NotImplementedError  # the same four submodules, the same names

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        """x: [B, T, d_model]. Post-LN: h = ln1(x + attn(x)), then ln2(h + ff(h))."""
        raise NotImplementedError
