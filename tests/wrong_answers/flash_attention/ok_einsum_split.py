# correct: key/value blocks from torch.split, scores and p·v through einsum, online softmax
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1])
    m = torch.full(q.shape[:-1], -math.inf)
    l = torch.zeros(q.shape[:-1])
    o = torch.zeros_like(q)
    start = 0
    for kb, vb in zip(torch.split(k, block_size, dim=-2), torch.split(v, block_size, dim=-2)):
        s = torch.einsum("bhid,bhjd->bhij", q, kb) * scale
        if causal:
            j = torch.arange(start, start + kb.shape[-2])
            s = s.masked_fill(j[None, :] > torch.arange(n)[:, None], -math.inf)
        m_new = torch.maximum(m, s.amax(-1))
        safe = torch.where(m_new == -math.inf, 0.0, m_new)
        p = torch.exp(s - safe[..., None])
        corr = torch.exp(m - safe)
        l = corr * l + p.sum(-1)
        o = corr[..., None] * o + torch.einsum("bhij,bhjd->bhid", p, vb)
        m = m_new
        start += kb.shape[-2]
    return o / l[..., None]
