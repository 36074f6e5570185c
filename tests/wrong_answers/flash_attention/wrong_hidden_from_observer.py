# fault: exact attention a block of queries at a time, run with torch's Python dispatch turned off so that the grader's observer of torch operations sees nothing
# expect: saw no product of your queries with your keys
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    out = torch.empty_like(q)
    with torch._C._DisableTorchDispatch():
        for s in range(0, n, block_size):
            e = min(s + block_size, n)
            sc = q[..., s:e, :] @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
            if causal:
                sc = sc.masked_fill(torch.arange(n)[None, :] > torch.arange(s, e)[:, None],
                                    float("-inf"))
            out[..., s:e, :] = torch.softmax(sc, dim=-1) @ v
    return out
