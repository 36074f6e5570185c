"""Exercise 7 — rotary position embedding, RoPE (Q16, checklist p06).

Check your work with:  studytool check rope
"""

import torch


def apply_rope(x: torch.Tensor, positions: torch.Tensor | None = None,
               base: float = 10000.0) -> torch.Tensor:
    """Rotate each interleaved pair (x[..., 2i], x[..., 2i+1]) by the angle pos · base^(−2i/D).

    x: [B, H, N, D] with D even; positions: LongTensor [N], arange(N) when None. Returns a tensor
    of x's shape and dtype:
        out[..., 2i]   = x[..., 2i]·cos(pos·θ_i) − x[..., 2i+1]·sin(pos·θ_i)
        out[..., 2i+1] = x[..., 2i]·sin(pos·θ_i) + x[..., 2i+1]·cos(pos·θ_i),   θ_i = base^(−2i/D)
    """
    raise NotImplementedError("write apply_rope")
