"""Reference: linear attention (Katharopoulos et al., 2020, "Transformers are RNNs").

Softmax attention needs the N×N matrix softmax(QKᵀ). Replace the similarity exp(q·k) by a
kernel φ(q)·φ(k) with φ(x) = elu(x) + 1 (positive, so the normaliser never vanishes) and use
associativity (Q22):

    out_i = φ(q_i)ᵀ (Σ_j φ(k_j) v_jᵀ) / (φ(q_i)ᵀ Σ_j φ(k_j) + eps)

Σ_j φ(k_j) v_jᵀ is a D×Dv matrix shared by every query: cost O(N·D·Dv), not O(N²·D). In the
causal case the sums run over j ≤ i: prefix sums, i.e. an RNN whose state is that D×Dv matrix
— which can still be computed for all positions at once (cumsum), so training stays parallel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def feature_map(x: torch.Tensor) -> torch.Tensor:
    return F.elu(x) + 1.0


def linear_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False, eps: float = 1e-6
) -> torch.Tensor:
    """q, k: [B, H, N, D]; v: [B, H, N, Dv]. Returns [B, H, N, Dv]."""
    phi_q, phi_k = feature_map(q), feature_map(k)
    if not causal:
        kv = phi_k.transpose(-2, -1) @ v  # [B, H, D, Dv]: Σ_j φ(k_j) v_jᵀ
        z = phi_k.sum(dim=-2)  # [B, H, D]:     Σ_j φ(k_j)
        num = phi_q @ kv  # [B, H, N, Dv]
        den = (phi_q * z.unsqueeze(-2)).sum(-1, keepdim=True)  # [B, H, N, 1]
    else:
        # Prefix sums over positions: S_i = Σ_{j≤i} φ(k_j) v_jᵀ, z_i = Σ_{j≤i} φ(k_j).
        # Memory O(N·D·Dv); a chunked version (or a loop over i) brings it to O(D·Dv) per step.
        kv = torch.einsum("bhnd,bhne->bhnde", phi_k, v).cumsum(dim=2)  # [B, H, N, D, Dv]
        z = phi_k.cumsum(dim=2)  # [B, H, N, D]
        num = torch.einsum("bhnd,bhnde->bhne", phi_q, kv)  # [B, H, N, Dv]
        den = (phi_q * z).sum(-1, keepdim=True)  # [B, H, N, 1]
    return num / (den + eps)
