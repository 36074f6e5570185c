# fault: quadratic in time but not in memory: each block of queries is compared with every key, so no N×N matrix is ever alive, and the work runs inside DisableTorchFunction so an in-process op counter sees nothing
# expect: cost grows like N²
import torch
import torch.nn.functional as F


def linear_attention(q, k, v, causal=False, eps=1e-6):
    with torch._C.DisableTorchFunction():
        fq, fk = F.elu(q) + 1, F.elu(k) + 1
        n = q.shape[-2]
        outs = []
        for s in range(0, n, 256):
            a = fq[..., s:s + 256, :] @ fk.transpose(-1, -2)       # [block, N]: O(N) memory
            if causal:
                i = torch.arange(s, min(s + 256, n))[:, None]
                a = a.masked_fill(torch.arange(n)[None, :] > i, 0.0)
            outs.append((a @ v) / (a.sum(-1, keepdim=True) + eps))
        return torch.cat(outs, dim=-2)
