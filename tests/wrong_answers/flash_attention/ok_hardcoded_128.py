# correct: ignores block_size and always uses key blocks of 128 (every block size then trivially gives the same result)
import math
import torch

BLOCK = 128


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    q = q * (1.0 / math.sqrt(q.shape[-1]))
    m = torch.full(q.shape[:-1] + (1,), -math.inf)
    l = torch.zeros_like(m)
    o = torch.zeros_like(q)
    rows = torch.arange(n)[:, None]
    for s in range(0, n, BLOCK):
        e = min(s + BLOCK, n)
        sc = q @ k[..., s:e, :].transpose(-1, -2)
        if causal:
            sc = sc.masked_fill(torch.arange(s, e)[None, :] > rows, -math.inf)
        m_new = torch.maximum(m, sc.amax(-1, keepdim=True))
        shift = torch.nan_to_num(m_new, neginf=0.0)
        p = torch.exp(sc - shift)
        a = torch.exp(m - shift)
        l = a * l + p.sum(-1, keepdim=True)
        o = a * o + p @ v[..., s:e, :]
        m = m_new
    return o / l
