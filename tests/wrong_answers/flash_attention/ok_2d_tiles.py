# correct: tiles over queries and keys (2-D), online softmax per query tile, skips fully masked tiles
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    N, D = q.shape[-2], q.shape[-1]
    out = torch.empty_like(q)
    for qs in range(0, N, block_size):
        qe = min(qs + block_size, N)
        qb = q[..., qs:qe, :] / math.sqrt(D)
        m = torch.full(qb.shape[:-1] + (1,), -math.inf, dtype=q.dtype)
        l = torch.zeros_like(m)
        acc = torch.zeros_like(qb)
        for ks in range(0, N, block_size):
            if causal and ks >= qe:
                break
            ke = min(ks + block_size, N)
            s = qb @ k[..., ks:ke, :].transpose(-1, -2)
            if causal:
                qi = torch.arange(qs, qe).unsqueeze(1)
                kj = torch.arange(ks, ke).unsqueeze(0)
                s = s.masked_fill(kj > qi, -math.inf)
            m_new = torch.maximum(m, s.max(dim=-1, keepdim=True).values)
            scale = torch.exp(m - m_new)
            p = torch.exp(s - m_new)
            l = l * scale + p.sum(-1, keepdim=True)
            acc = acc * scale + p @ v[..., ks:ke, :]
            m = m_new
        out[..., qs:qe, :] = acc / l
    return out
