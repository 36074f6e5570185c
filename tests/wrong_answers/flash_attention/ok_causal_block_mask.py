# correct: 2-D tiles; under causal, key blocks wholly after the query block are skipped and only the diagonal block gets a mask, built for that block
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    q = q / math.sqrt(q.shape[-1])
    out = torch.empty_like(q)
    for qs in range(0, n, block_size):
        qe = min(qs + block_size, n)
        qb = q[..., qs:qe, :]
        m = torch.full(qb.shape[:-1] + (1,), -math.inf)
        l = torch.zeros_like(m)
        acc = torch.zeros_like(qb)
        last = qe if causal else n
        for ks in range(0, last, block_size):
            ke = min(ks + block_size, last)
            s = torch.matmul(qb, k[..., ks:ke, :].transpose(-1, -2))
            if causal and ke > qs:
                keep = torch.arange(ks, ke)[None, :] <= torch.arange(qs, qe)[:, None]
                s = torch.where(keep, s, torch.tensor(-math.inf))
            m_new = torch.maximum(m, s.amax(-1, keepdim=True))
            p = torch.exp(s - m_new)       # m_new is finite: key 0 is visible to every query
            a = torch.exp(m - m_new)
            l = a * l + p.sum(-1, keepdim=True)
            acc = a * acc + torch.matmul(p, v[..., ks:ke, :])
            m = m_new
        out[..., qs:qe, :] = acc / l
    return out
