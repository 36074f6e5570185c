# correct: the closed form — 2^(−8(h+1)/c) for the first c, then 2^(−4(2k+1)/c) for the extras
import math
import torch


def alibi_slopes(n_heads):
    c = 1 << (n_heads.bit_length() - 1)               # largest power of two ≤ n
    slopes = [2.0 ** (-8.0 * (h + 1) / c) for h in range(c)]
    slopes += [2.0 ** (-4.0 * (2 * k + 1) / c) for k in range(n_heads - c)]
    return torch.tensor(slopes, dtype=torch.float32)


def alibi_bias(n_heads, seq_len):
    i = torch.arange(seq_len).view(-1, 1)
    j = torch.arange(seq_len).view(1, -1)
    dist = (i - j).float()
    out = torch.full((n_heads, seq_len, seq_len), float("-inf"))
    past = j <= i
    out[:, past] = (-alibi_slopes(n_heads)[:, None] * dist[past][None, :])
    return out
