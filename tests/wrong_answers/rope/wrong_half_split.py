# fault: pairs x[i] with x[i + D/2] (rotate_half) instead of the interleaved pairs
# expect: half-split
import torch


def apply_rope(x, positions=None, base=10000.0):
    d = x.shape[-1]
    pos = torch.arange(x.shape[-2]) if positions is None else positions
    freqs = base ** (-torch.arange(0, d, 2).float() / d)
    ang = pos.float()[:, None] * freqs
    cos, sin = torch.cat([ang.cos()] * 2, -1), torch.cat([ang.sin()] * 2, -1)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin
