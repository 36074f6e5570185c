"""Exercise 2 — the causal mask and masked attention (Q20, checklist p03).

Check your work with:  studytool check causal_mask

torch's fused attention (torch.nn.functional.scaled_dot_product_attention and its backends) is
refused when it runs, however your code reaches it. Everything else is allowed — even
nn.MultiheadAttention with need_weights=True, which computes from ordinary operators — but the
point is to build the attention yourself from matmul, masking and softmax.
"""

import math  # noqa: F401  (you will want math.sqrt)

import torch


def causal_mask(seq_len: int) -> torch.Tensor:
    """Return a bool tensor [seq_len, seq_len]: True where query i may attend to key j, i.e. j <= i.

    This is the convention of torch.nn.functional.scaled_dot_product_attention's boolean
    attn_mask (True = take part in attention).
    """
    raise NotImplementedError("write causal_mask")


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal scaled dot-product attention for q, k, v of shape [B, H, N, D].

    Return softmax(q kᵀ / √D with later keys masked out) v, shape [B, H, N, D_v], where D is the
    last size of q and k. Every row of attention weights must sum to one, and no output may
    depend on a later position. Do not modify q, k or v in place.
    """
    raise NotImplementedError("write causal_attention")
