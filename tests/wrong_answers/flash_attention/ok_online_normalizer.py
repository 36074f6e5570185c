# correct: the online softmax in two passes (Milakov & Gimelshein): pass 1 keeps a running max and a running sum rescaled when the max grows; pass 2 accumulates the output with the final max and sum
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    q = q / math.sqrt(q.shape[-1])
    rows = torch.arange(n)[:, None]

    def scores(ks, ke):
        s = q @ k[..., ks:ke, :].transpose(-1, -2)
        if causal:
            s = s.masked_fill(torch.arange(ks, ke)[None, :] > rows, -math.inf)
        return s

    m = torch.full(q.shape[:-1] + (1,), -math.inf)
    l = torch.zeros_like(m)
    for ks in range(0, n, block_size):
        s = scores(ks, min(ks + block_size, n))
        m_new = torch.maximum(m, s.amax(-1, keepdim=True))
        safe = torch.nan_to_num(m_new, neginf=0.0)
        l = torch.exp(m - safe) * l + torch.exp(s - safe).sum(-1, keepdim=True)
        m = m_new
    o = torch.zeros_like(q)
    for ks in range(0, n, block_size):
        ke = min(ks + block_size, n)
        o = o + (torch.exp(scores(ks, ke) - m) / l) @ v[..., ks:ke, :]
    return o
