# correct: all queries against one key block at a time, written transposed (k_block qᵀ: [block, N] scores; vᵀ pᵀ), online softmax over the key axis
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    n, d = q.shape[-2], q.shape[-1]
    qt = q.transpose(-1, -2) / math.sqrt(d)                  # [.., D, N]
    m = torch.full(q.shape[:-2] + (1, n), -math.inf)         # one column per query
    l = torch.zeros_like(m)
    acc_t = torch.zeros(q.shape[:-2] + (v.shape[-1], n))     # outputᵀ
    for ks in range(0, n, block_size):
        ke = min(ks + block_size, n)
        st = k[..., ks:ke, :] @ qt                           # [.., block, N]: keys × queries
        if causal:
            st = st.masked_fill(torch.arange(ks, ke)[:, None] > torch.arange(n)[None, :],
                                -math.inf)
        m_new = torch.maximum(m, st.amax(dim=-2, keepdim=True))
        m_safe = torch.where(torch.isinf(m_new), torch.zeros_like(m_new), m_new)
        pt = torch.exp(st - m_safe)
        alpha = torch.exp(m - m_safe)
        l = alpha * l + pt.sum(dim=-2, keepdim=True)
        acc_t = alpha * acc_t + v[..., ks:ke, :].transpose(-1, -2) @ pt
        m = m_new
    return (acc_t / l).transpose(-1, -2)
