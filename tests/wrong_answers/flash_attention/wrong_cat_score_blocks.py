# fault: scores computed per key block but concatenated into a full row per query block, then a plain softmax and one product with all the values (exact attention a block of queries at a time)
# expect: multiplied attention weights by all 1234 values at once
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    q = q / math.sqrt(q.shape[-1])
    out = torch.empty_like(q)
    for qs in range(0, n, block_size):
        qe = min(qs + block_size, n)
        blocks = [q[..., qs:qe, :] @ k[..., ks:ks + block_size, :].transpose(-1, -2)
                  for ks in range(0, n, block_size)]
        row = torch.cat(blocks, dim=-1)                 # [.., block, N]
        if causal:
            row = row.masked_fill(torch.arange(n)[None, :] > torch.arange(qs, qe)[:, None],
                                  float("-inf"))
        out[..., qs:qe, :] = torch.softmax(row, dim=-1) @ v
    return out
