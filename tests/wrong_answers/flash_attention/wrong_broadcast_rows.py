# fault: scores without a matmul (a broadcast product summed over D) of a few queries against all keys, then a plain softmax
# expect: keys at once
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    rows_at_once = 8
    out = torch.empty_like(q)
    for s in range(0, n, rows_at_once):
        e = min(s + rows_at_once, n)
        sc = (q[..., s:e, None, :] * k[..., None, :, :]).sum(-1) / math.sqrt(q.shape[-1])
        if causal:
            sc = sc.masked_fill(torch.arange(n)[None, :] > torch.arange(s, e)[:, None],
                                float("-inf"))
        w = torch.softmax(sc, dim=-1)
        out[..., s:e, :] = (w[..., None] * v[..., None, :, :]).sum(-2)
    return out
