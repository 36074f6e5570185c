# correct: float32 angles, pairs rebuilt with stack + flatten
import torch


def apply_rope(x, positions=None, base=10000.0):
    d = x.shape[-1]
    pos = torch.arange(x.shape[-2]) if positions is None else positions
    freqs = 1.0 / (base ** (torch.arange(0, d, 2).float() / d))
    ang = pos.float().unsqueeze(-1) * freqs
    c, s = torch.cos(ang).to(x.dtype), torch.sin(ang).to(x.dtype)
    a, b = x[..., ::2], x[..., 1::2]
    return torch.stack((a * c - b * s, a * s + b * c), dim=-1).flatten(-2)
