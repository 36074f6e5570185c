"""Exercise 3 — a KV cache for autoregressive decoding (Q21, checklist p04).

Check your work with:  studytool check kv_cache
"""

import math  # noqa: F401  (you will want math.sqrt)

import torch
from torch import nn


class KVCache:
    """Keys and values of every token seen so far, for one attention layer.

    Allocate the storage ONCE, here in __init__ ([batch_size, n_heads, max_len, head_dim] for keys
    and for values, of the given dtype and device). update() writes into it in place; it never
    reallocates or copies what is already stored.
    """

    def __init__(self, batch_size: int, n_heads: int, max_len: int, head_dim: int,
                 dtype: torch.dtype = torch.float32, device=None):
        raise NotImplementedError("allocate the key and value buffers")

    def __len__(self) -> int:
        """The number of tokens stored."""
        raise NotImplementedError

    def update(self, k_new: torch.Tensor, v_new: torch.Tensor):
        """Append k_new, v_new [B, H, T_new, D]; return (k_all, v_all), each [B, H, T, D].

        T = tokens stored after this call. The returned tensors must be views of the buffers
        allocated in __init__ (slices), not copies. Raise ValueError if the new tokens do not fit
        in max_len.
        """
        raise NotImplementedError


class CachedSelfAttention(nn.Module):
    """Multi-head causal self-attention that can decode with a KVCache.

    Submodules (the grader loads weights by these names): q_proj, k_proj, v_proj, out_proj, each
    nn.Linear(d_model, d_model, bias=False). head_dim = d_model // n_heads.
    """

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """x: [B, T, d_model] -> [B, T, d_model].

        Without a cache: causal self-attention over x. With a cache: x holds only the NEW tokens,
        at positions len(cache), len(cache)+1, …; project only them, add their keys and values to
        the cache, and let each attend to every cached token and to the new tokens up to itself.
        """
        raise NotImplementedError
