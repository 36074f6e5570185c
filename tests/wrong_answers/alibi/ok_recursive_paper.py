# correct: the paper's recursive get_slopes, bias via broadcasting and triu
import math
import torch


def _get_slopes(n):
    def pow2(n):
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return pow2(n)
    c = 2 ** math.floor(math.log2(n))
    return pow2(c) + _get_slopes(2 * c)[0::2][: n - c]


def alibi_slopes(n_heads):
    return torch.tensor(_get_slopes(n_heads), dtype=torch.float32)


def alibi_bias(n_heads, seq_len):
    pos = torch.arange(seq_len, dtype=torch.float32)
    rel = pos[None, :] - pos[:, None]                 # j − i, ≤ 0 in the past
    bias = alibi_slopes(n_heads)[:, None, None] * rel
    future = torch.ones(seq_len, seq_len, dtype=torch.bool).triu(1)
    return bias.masked_fill(future, float("-inf"))
