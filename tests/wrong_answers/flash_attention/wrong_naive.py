# fault: the whole N×N score matrix at once (right values, N² memory)
# expect: peak memory measured by the grader outside your process
import math
import torch


def tiled_attention(q, k, v, causal=False, block_size=64):
    s = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        n = q.shape[-2]
        s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(s, dim=-1) @ v
