# fault: tiles the keys with an online softmax when causal=False, but with causal=True computes exact attention a block of queries at a time (a full softmax over the keys up to the block's end)
# expect: with causal=True
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    q = q / math.sqrt(q.shape[-1])
    if causal:
        out = torch.empty_like(q)
        for s in range(0, n, block_size):
            e = min(s + block_size, n)
            sc = q[..., s:e, :] @ k[..., :e, :].transpose(-1, -2)
            sc = sc.masked_fill(torch.arange(e)[None, :] > torch.arange(s, e)[:, None],
                                float("-inf"))
            out[..., s:e, :] = torch.softmax(sc, dim=-1) @ v[..., :e, :]
        return out
    m = torch.full(q.shape[:-1] + (1,), -math.inf)
    l = torch.zeros_like(m)
    o = torch.zeros_like(q)
    for s in range(0, n, block_size):
        sc = q @ k[..., s:s + block_size, :].transpose(-1, -2)
        m_new = torch.maximum(m, sc.amax(-1, keepdim=True))
        p = torch.exp(sc - m_new)
        a = torch.exp(m - m_new)
        l = a * l + p.sum(-1, keepdim=True)
        o = a * o + p @ v[..., s:s + block_size, :]
        m = m_new
    return o / l
