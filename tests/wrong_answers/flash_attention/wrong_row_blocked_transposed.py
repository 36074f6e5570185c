# fault: exact attention a block of queries at a time, written transposed (k qᵀ, [N, block] blocks): a full softmax over all N keys per query block
# expect: keys at once
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n = q.shape[-2]
    out = torch.empty_like(q)
    for s in range(0, n, block_size):
        e = min(s + block_size, n)
        st = k @ q[..., s:e, :].transpose(-1, -2) / math.sqrt(q.shape[-1])   # [.., N, block]
        if causal:
            st = st.masked_fill(torch.arange(n)[:, None] > torch.arange(s, e)[None, :],
                                float("-inf"))
        pt = torch.softmax(st, dim=-2)                  # over all N keys
        out[..., s:e, :] = (v.transpose(-1, -2) @ pt).transpose(-1, -2)
    return out
