# fault: scores through einsum of a query block against all keys, then a plain softmax (exact attention row block by row block)
# expect: keys at once
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    out = torch.empty_like(q)
    for s in range(0, n, block_size):
        e = min(s + block_size, n)
        sc = torch.einsum("bhqd,bhkd->bhqk", q[..., s:e, :], k) / math.sqrt(q.shape[-1])
        if causal:
            sc = sc.masked_fill(torch.arange(n)[None, :] > torch.arange(s, e)[:, None],
                                float("-inf"))
        out[..., s:e, :] = torch.einsum("bhqk,bhkd->bhqd", torch.softmax(sc, dim=-1), v)
    return out
