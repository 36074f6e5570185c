# fault: two passes over key blocks: the first only finds each row's maximum, the second sums and accumulates with that fixed maximum — never a running maximum, never a rescale (right values, small memory)
# expect: before it took any exp or accumulated any output
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    q = q / math.sqrt(q.shape[-1])
    rows = torch.arange(n)[:, None]

    def scores(ks, ke):
        s = q @ k[..., ks:ke, :].transpose(-1, -2)
        if causal:
            s = s.masked_fill(torch.arange(ks, ke)[None, :] > rows, float("-inf"))
        return s

    m = torch.full(q.shape[:-1] + (1,), float("-inf"))
    for ks in range(0, n, block_size):               # pass 1: the max, block by block
        m = torch.maximum(m, scores(ks, min(ks + block_size, n)).amax(dim=-1, keepdim=True))
    l = torch.zeros_like(m)
    acc = torch.zeros_like(q)
    for ks in range(0, n, block_size):               # pass 2: with the final max, no rescale
        ke = min(ks + block_size, n)
        p = torch.exp(scores(ks, ke) - m)
        l = l + p.sum(dim=-1, keepdim=True)
        acc = acc + p @ v[..., ks:ke, :]
    return acc / l
