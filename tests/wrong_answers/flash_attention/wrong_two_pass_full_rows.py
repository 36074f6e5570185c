# fault: two passes: scores of a query block against all keys to get the row maximum first, then key blocks with that fixed maximum (no online softmax, no rescaling)
# expect: keys at once
import math
import torch


def _mask(s, qs, qe, ks, ke):
    return s.masked_fill(torch.arange(ks, ke)[None, :] > torch.arange(qs, qe)[:, None],
                         float("-inf"))


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    q = q / math.sqrt(q.shape[-1])
    out = torch.empty_like(q)
    for qs in range(0, n, block_size):
        qe = min(qs + block_size, n)
        qb = q[..., qs:qe, :]
        full = qb @ k.transpose(-1, -2)              # pass 1: the row maximum over every key
        if causal:
            full = _mask(full, qs, qe, 0, n)
        m = full.amax(dim=-1, keepdim=True)
        del full
        l = torch.zeros_like(m)
        acc = torch.zeros_like(qb)
        for ks in range(0, n, block_size):           # pass 2: blocks, the max already known
            ke = min(ks + block_size, n)
            s = qb @ k[..., ks:ke, :].transpose(-1, -2)
            if causal:
                s = _mask(s, qs, qe, ks, ke)
            p = torch.exp(s - m)
            l = l + p.sum(dim=-1, keepdim=True)
            acc = acc + p @ v[..., ks:ke, :]
        out[..., qs:qe, :] = acc / l
    return out
