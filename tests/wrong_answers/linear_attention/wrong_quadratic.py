# fault: computes (φ(Q)φ(K)ᵀ)V — right values, quadratic cost and memory
# expect: An N×N matrix is formed
import torch
import torch.nn.functional as F


def linear_attention(q, k, v, causal=False, eps=1e-6):
    a = (F.elu(q) + 1) @ (F.elu(k) + 1).transpose(-1, -2)   # N×N
    if causal:
        a = a.tril()
    return (a @ v) / (a.sum(-1, keepdim=True) + eps)
