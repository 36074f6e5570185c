# fault: allocates the output like q, so it breaks when v has its own last size
# expect: own last size
import torch
import torch.nn.functional as F


def linear_attention(q, k, v, causal=False, eps=1e-6):
    fq, fk = F.elu(q) + 1, F.elu(k) + 1
    out = torch.zeros_like(q)                      # [B, H, N, D] — but the output is [.., Dv]
    if causal:
        kv = torch.einsum("bhnd,bhne->bhnde", fk, v).cumsum(2)
        out[...] = torch.einsum("bhnd,bhnde->bhne", fq, kv) / ((fq * fk.cumsum(2)).sum(-1, keepdim=True) + eps)
    else:
        out[...] = (fq @ (fk.transpose(-1, -2) @ v)) / (fq @ fk.sum(-2).unsqueeze(-1) + eps)
    return out
