# fault: exact attention a block of QUERY rows at a time: a full softmax over all N keys per query block, no online softmax (right values, small memory)
# expect: keys at once
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    out = torch.empty_like(q)
    kt = k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    for s in range(0, n, block_size):
        e = min(s + block_size, n)
        sc = q[..., s:e, :] @ kt                      # [.., block, N]: every key at once
        if causal:
            cols = torch.arange(n)[None, :]
            rows = torch.arange(s, e)[:, None]
            sc = sc.masked_fill(cols > rows, float("-inf"))
        out[..., s:e, :] = torch.softmax(sc, dim=-1) @ v
    return out
