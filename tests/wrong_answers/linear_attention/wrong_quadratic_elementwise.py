# fault: forms the N×N similarities by broadcasting (no matmul, so FlopCounterMode sees nothing)
# expect: An N×N matrix is formed
import torch
import torch.nn.functional as F


def linear_attention(q, k, v, causal=False, eps=1e-6):
    fq, fk = F.elu(q) + 1, F.elu(k) + 1
    a = (fq.unsqueeze(-2) * fk.unsqueeze(-3)).sum(-1)        # [.., N, N]
    if causal:
        a = a * torch.ones(a.shape[-2:], dtype=a.dtype).tril()
    num = (a.unsqueeze(-1) * v.unsqueeze(-3)).sum(-2)
    return num / (a.sum(-1, keepdim=True) + eps)
