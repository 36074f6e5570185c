"""Reference: sinusoidal position encoding (Vaswani et al., 2017), interleaved sin/cos."""

import torch


def sinusoidal_position_encoding(seq_len: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    if seq_len <= 0 or d_model <= 0 or d_model % 2 != 0:
        raise ValueError(f"need positive seq_len and a positive, even d_model; got {seq_len}, {d_model}")
    position = torch.arange(seq_len, dtype=torch.float64).unsqueeze(1)  # [N, 1]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # [D/2]: 0, 2, 4, …
    angle = position / (base ** (two_i / d_model))  # [N, D/2]
    pe = torch.empty(seq_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)  # even columns 2i
    pe[:, 1::2] = torch.cos(angle)  # odd columns 2i+1
    return pe.to(torch.float32)
