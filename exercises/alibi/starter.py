"""Exercise 8 — ALiBi attention biases (Q16, checklist p06).

Check your work with:  studytool check alibi
"""

import math  # noqa: F401

import torch


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """The ALiBi slope of each head, float32 [n_heads].

    n a power of two: 2^(−8(h+1)/n) for h = 0 … n−1 (the paper's rule, Press et al. §3, which the
    paper states for any n). Otherwise this exercise asks for the rule of the authors' released
    code (as BLOOM and Hugging Face use it): the slopes for the largest power of two below n, then
    every other slope of the next power of two, until there are n.
    """
    raise NotImplementedError("write alibi_slopes")


def alibi_bias(n_heads: int, seq_len: int) -> torch.Tensor:
    """[n_heads, seq_len, seq_len]: −slope_h · (i − j) for j ≤ i, and -inf for j > i.

    Row i is the query, column j the key.
    """
    raise NotImplementedError("write alibi_bias")
