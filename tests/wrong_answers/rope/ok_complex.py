# correct: view adjacent pairs as complex numbers and multiply by e^{i·p·θ}
import torch


def apply_rope(x, positions=None, base=10000.0):
    N, D = x.shape[-2:]
    if positions is None:
        positions = torch.arange(N)
    theta = base ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    rot = torch.polar(torch.ones(N, D // 2, dtype=torch.float64), positions[:, None].double() * theta)
    z = torch.view_as_complex(x.double().reshape(*x.shape[:-1], D // 2, 2).contiguous())
    return torch.view_as_real(z * rot).reshape(x.shape).to(x.dtype)
