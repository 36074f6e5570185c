# fault: the whole N×N score matrix, hidden under a 600 MiB allocation made (and touched) on every call, so the peak is the same at every N: a check on the growth between sizes alone would see nothing
# expect: whatever N is
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    ballast = torch.ones(150 * 1024 * 1024)  # 600 MiB, resident
    del ballast
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        n = q.shape[-2]
        s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(s, dim=-1) @ v
