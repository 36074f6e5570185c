"""Exercise 1 — sinusoidal position encoding (Q14, checklist p01).

Implement the fixed encoding of "Attention Is All You Need":

    PE[p, 2i]   = sin(p / base^(2i / d_model))
    PE[p, 2i+1] = cos(p / base^(2i / d_model))

Check your work with:  studytool check sinusoidal_pe
"""

import torch


def sinusoidal_position_encoding(seq_len: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """Return the sinusoidal position encoding as a float32 tensor of shape [seq_len, d_model].

    Row p is the encoding of position p (positions start at 0). Columns come in interleaved
    pairs: column 2i holds sin(p / base^(2i/d_model)) and column 2i+1 holds
    cos(p / base^(2i/d_model)) — the same angle for both columns of a pair.

    Raises ValueError when d_model is odd, or when seq_len or d_model is not positive.
    """
    raise NotImplementedError("write sinusoidal_position_encoding")
