"""Reference: rotary position embedding, RoPE (Su et al., 2021, "RoFormer").

Split the D features into D/2 pairs (x[2i], x[2i+1]) — adjacent, interleaved pairs, as in the
RoFormer paper — and rotate pair i at position p by the angle p·θ_i, θ_i = base^(−2i/D):

    out[2i]   = x[2i]·cos(pθ_i) − x[2i+1]·sin(pθ_i)
    out[2i+1] = x[2i]·sin(pθ_i) + x[2i+1]·cos(pθ_i)

A rotation keeps norms, and R(m)ᵀR(n) = R(n − m), so ⟨rope(q, m), rope(k, n)⟩ depends on the
positions only through m − n: relative position enters attention scores by construction (Q16).
"""

from __future__ import annotations

import torch


def apply_rope(x: torch.Tensor, positions: torch.Tensor | None = None, base: float = 10000.0) -> torch.Tensor:
    """x: [B, H, N, D], D even; positions: LongTensor [N] (default arange(N))."""
    n, d = x.shape[-2], x.shape[-1]
    if d % 2:
        raise ValueError(f"RoPE needs an even head dimension, got {d}")
    if positions is None:
        positions = torch.arange(n, device=x.device)
    # Angles in float64, then cast: large positions × frequencies stay accurate.
    inv_freq = base ** (-torch.arange(0, d, 2, dtype=torch.float64, device=x.device) / d)  # θ_i
    angles = positions.to(torch.float64)[:, None] * inv_freq[None, :]  # [N, D/2]
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x_even, x_odd = x[..., 0::2], x[..., 1::2]  # the pairs (x[2i], x[2i+1])
    out = torch.empty_like(x)
    out[..., 0::2] = x_even * cos - x_odd * sin
    out[..., 1::2] = x_even * sin + x_odd * cos
    return out
