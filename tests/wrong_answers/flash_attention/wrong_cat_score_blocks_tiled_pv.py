# fault: every product is block-sized, but each query block's scores are concatenated into a full row and softmaxed at once before any output is accumulated — no running max, no online softmax
# expect: before it took any exp or accumulated any output
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    q = q / math.sqrt(q.shape[-1])
    out = torch.zeros_like(q)
    for qs in range(0, n, block_size):
        qe = min(qs + block_size, n)
        row = torch.cat([q[..., qs:qe, :] @ k[..., ks:ks + block_size, :].transpose(-1, -2)
                         for ks in range(0, n, block_size)], dim=-1)
        if causal:
            row = row.masked_fill(torch.arange(n)[None, :] > torch.arange(qs, qe)[:, None],
                                  float("-inf"))
        p = torch.softmax(row, dim=-1)
        for ks in range(0, n, block_size):
            out[..., qs:qe, :] += p[..., ks:ks + block_size] @ v[..., ks:ks + block_size, :]
    return out
