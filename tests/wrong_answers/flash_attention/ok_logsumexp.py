# correct: keeps a running log-sum-exp per row and a normalised output, merged block by block
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    N = q.shape[-2]
    q = q / math.sqrt(q.shape[-1])
    lse = torch.full(q.shape[:-1] + (1,), -math.inf, dtype=q.dtype)
    out = torch.zeros_like(q)
    i = torch.arange(N).unsqueeze(-1)
    for start in range(0, N, block_size):
        kb, vb = k[..., start:start + block_size, :], v[..., start:start + block_size, :]
        s = q @ kb.transpose(-1, -2)
        if causal:
            s = torch.where(torch.arange(start, start + kb.shape[-2]) > i, -math.inf, s)
        block_lse = torch.logsumexp(s, dim=-1, keepdim=True)
        new_lse = torch.logaddexp(lse, block_lse)
        w_old = torch.nan_to_num(torch.exp(lse - new_lse))
        w_blk = torch.nan_to_num(torch.exp(block_lse - new_lse))
        block_out = torch.nan_to_num(torch.softmax(s, dim=-1)) @ vb
        out = w_old * out + w_blk * block_out
        lse = new_lse
    return out
