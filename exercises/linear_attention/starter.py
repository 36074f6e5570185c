"""Exercise 4 — linear attention (Q22, checklist p05).

Check your work with:  studytool check linear_attention
"""

import torch
import torch.nn.functional as F  # noqa: F401  (F.elu)


def linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     causal: bool = False, eps: float = 1e-6) -> torch.Tensor:
    """Linear attention of Katharopoulos et al. (2020).

    q, k: [B, H, N, D]; v: [B, H, N, Dv] (Dv may differ from D). Returns [B, H, N, Dv] with

        φ(x) = elu(x) + 1
        out_i = φ(q_i)ᵀ (Σ_j φ(k_j) v_jᵀ) / (φ(q_i)ᵀ Σ_j φ(k_j) + eps)

    where j runs over all positions, or over j ≤ i when causal. Never form an N×N matrix: the
    grader measures how FLOPs and memory grow with N.
    """
    raise NotImplementedError("write linear_attention")
